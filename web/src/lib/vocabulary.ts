import { ref } from 'vue'
import { api } from './api'
import type { Vocabulary, VocabularyKind } from './labels'
import { label as labelOf, options as optionsOf } from './labels'

export const vocabulary = ref<Vocabulary | null>(null)

export async function loadVocabulary(): Promise<void> {
  if (!vocabulary.value) vocabulary.value = await api.get<Vocabulary>('/vocabulary')
}

export const t = (kind: VocabularyKind, code: string | null | undefined) => labelOf(vocabulary.value, kind, code)
export const opts = (kind: VocabularyKind) => optionsOf(vocabulary.value, kind)
