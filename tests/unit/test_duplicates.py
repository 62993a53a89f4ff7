from services.intake.duplicates import rank, similarity, tokens

ELEVATOR = "3号楼电梯故障，老人无法下楼。电梯停了两天，家里老人上下楼很困难。"


def test_same_problem_in_other_words_is_similar():
    assert similarity(ELEVATOR, "电梯又坏了。3号楼电梯停了两天，老人下不了楼，请维修电梯。") >= 60


def test_different_problems_are_not():
    assert similarity(ELEVATOR, "建议增设电动车充电桩。小区电动车多，楼道充电危险。") < 40
    assert similarity(ELEVATOR, "") == 0


def test_polite_filler_does_not_make_texts_alike():
    assert "请" not in tokens("请尽快处理") and "尽快" not in tokens("请尽快处理")
    assert similarity("路灯不亮，请尽快处理", "垃圾没人清运，请尽快处理") < 50


def test_rank_keeps_only_close_ones_best_first():
    candidates = [
        ("a", "MX-1", "充电桩", "建议增设电动车充电桩，楼道充电危险"),
        ("b", "MX-2", "电梯故障", "3号楼电梯故障，老人无法下楼，电梯停了两天"),
        ("c", "MX-3", "电梯", "电梯停了两天，老人下不了楼，请维修电梯"),
    ]
    ranked = rank(ELEVATOR, candidates, threshold=55)
    assert [r["id"] for r in ranked][:1] == ["b"] and "a" not in [r["id"] for r in ranked]
    assert ranked == sorted(ranked, key=lambda r: -r["score"])
