import { ref } from 'vue'

// One ticking "now" for every countdown on the page (once a minute is enough for hours and days).
export const now = ref(Date.now())
setInterval(() => (now.value = Date.now()), 60_000)
