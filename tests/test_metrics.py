"""Continual-learning metrics on hand-made accuracy matrices."""
import pytest

from common import metrics

# After task 1: 90; after task 2: 80 on task 1, 95 on task 2; after task 3: 70, 85, 99.
MATRIX = [[90.0], [80.0, 95.0], [70.0, 85.0, 99.0]]


def test_average_and_learning_accuracy():
    assert metrics.average_accuracy(MATRIX) == pytest.approx([90.0, 87.5, 84.6666667])
    assert metrics.learning_accuracy(MATRIX) == [90.0, 95.0, 99.0]


def test_backward_transfer():
    # ((70 - 90) + (85 - 95)) / 2
    assert metrics.backward_transfer(MATRIX) == pytest.approx(-15.0)
    assert metrics.backward_transfer([[50.0], [60.0, 40.0]]) == pytest.approx(10.0)  # positive transfer
    assert metrics.backward_transfer([[90.0]]) is None


def test_forgetting_is_the_drop_from_the_best_accuracy():
    # task 1: best 90 -> 70 (20); task 2: best 95 -> 85 (10)
    assert metrics.forgetting(MATRIX) == pytest.approx(15.0)
    # task 1 improves to 95 after task 2, then drops to 91: forgetting 4, while BWT says +1
    rising = [[90.0], [95.0, 80.0], [91.0, 80.0, 70.0]]
    assert metrics.forgetting(rising) == pytest.approx((4.0 + 0.0) / 2)
    assert metrics.backward_transfer(rising) == pytest.approx((1.0 + 0.0) / 2)


def test_summary_has_every_metric():
    summary = metrics.summarise(MATRIX)
    assert summary["final_avg_accuracy"] == pytest.approx(84.6666667)
    assert set(summary) == {"avg_accuracy", "final_avg_accuracy", "bwt", "forgetting", "learning_accuracy"}


def run(method, seed, final, **config):
    return {"method": method, "seed": seed, "summary": {"final_avg_accuracy": final, "bwt": -1.0, "forgetting": 1.0},
            "config": {"seed": seed, "script": method.split(" (")[0] + ".py"} | config, "provenance": [],
            "path": f"{method}/seed{seed}"}


def test_table_statistics_match_hand_computation():
    from common import report

    # 1, 2, 3, 6: mean 3, sample sd sqrt(14/3); 95% CI half-width t(0.975, 3) = 3.182446 times sd / 2
    assert report.mean_std([1.0, 2.0, 3.0, 6.0]) == pytest.approx((3.0, (14 / 3) ** 0.5))
    assert report.ci95([1.0, 2.0, 3.0, 6.0]) == pytest.approx(3.182446 * (14 / 3) ** 0.5 / 2, rel=1e-6)
    # Paired by seed: differences 1, 3, 1 (seed 3 has no reference and is left out): mean 5/3, sd
    # sqrt(4/3), t = 2.5 on 2 degrees of freedom, two-sided p = 1 - 2.5 / sqrt(8.25) = 0.12961.
    runs = [run("a", 0, 91.0), run("a", 1, 93.0), run("a", 2, 92.0), run("a", 3, 99.0),
            run("ref", 0, 90.0), run("ref", 1, 90.0), run("ref", 2, 91.0)]
    rows = {r["method"]: r for r in report.table_rows(runs, reference="ref")}
    assert rows["a"]["diff"] == pytest.approx(5 / 3) and rows["a"]["pairs"] == 3
    assert rows["a"]["diff_ci95"] == pytest.approx(4.302653 * (4 / 3) ** 0.5 / 3 ** 0.5, rel=1e-6)
    assert rows["a"]["p_value"] == pytest.approx(1 - 2.5 / 8.25**0.5, rel=1e-5)
    assert rows["ref"]["reference"] and "diff" not in rows["ref"] and rows["a"]["final_avg_accuracy_sd"] == pytest.approx((38.75 / 3) ** 0.5)


def test_vae_tables_pair_and_rank_by_negative_elbo():
    from common import report

    def vae(method, seed, nll, accuracy):
        summary = {"final_avg_accuracy": accuracy, "bwt": 0.0, "forgetting": 0.0,
                   "nll": {"final_avg": nll, "bwt": 0.0, "forgetting": 0.0}}
        return {"method": method, "seed": seed, "summary": summary, "config": {"seed": seed}, "provenance": []}

    # lower ELBO first, though its sample accuracy is lower; differences -10, -12, -11: mean -11, and
    # the lower ELBO ranks above (t = -11 sqrt 3 on 2 degrees of freedom: p = 0.0027)
    runs = [vae("a", 0, 120.0, 90.0), vae("a", 1, 118.0, 91.0), vae("a", 2, 119.0, 90.0),
            vae("ref", 0, 130.0, 95.0), vae("ref", 1, 130.0, 96.0), vae("ref", 2, 130.0, 95.0)]
    rows = report.table_rows(runs, reference="ref")
    assert [r["method"] for r in rows] == ["a", "ref"] and rows[0]["diff"] == pytest.approx(-11.0)
    [pair] = report.verdicts(runs)
    assert (pair["first"], pair["second"], pair["verdict"]) == ("a", "ref", "above")
    assert pair["p_holm"] == pytest.approx(1 - (363 / 365) ** 0.5, rel=1e-3)


def test_gan_tables_rank_by_judge_accuracy_and_show_the_frechet_distance():
    from common import report

    def gan(method, seed, fid, accuracy):
        summary = {"final_avg_accuracy": accuracy, "bwt": -1.0, "forgetting": 1.0,
                   "fid": {"final_avg": fid, "bwt": 2.0, "forgetting": 3.0}}
        return {"method": method, "seed": seed, "summary": summary, "config": {"seed": seed}, "provenance": []}

    runs = [gan("a", 0, 50.0, 80.0), gan("a", 1, 54.0, 82.0), gan("ref", 0, 30.0, 70.0), gan("ref", 1, 30.0, 72.0)]
    rows = report.table_rows(runs, reference="ref")
    assert [r["method"] for r in rows] == ["a", "ref"] and rows[0]["diff"] == pytest.approx(10.0)  # accuracy
    table = report.table_markdown(rows, "ref").splitlines()
    assert "| final average sample accuracy (%) |" in table[0] and "| final average Fréchet distance | FD BWT | FD forgetting |" in table[0]
    assert "| 52.00 ± 2.83 | 2.00 ± 0.00 | 3.00 ± 0.00 |" in table[2]


def test_holm_adjustment_matches_hand_computation():
    from common import report

    # sorted 0.01, 0.02, 0.04 (m = 3): 3 * 0.01, max(0.03, 2 * 0.02), max(0.04, 1 * 0.04); nan is not a test
    assert report.holm([0.04, 0.01, float("nan"), 0.02]) == pytest.approx([0.04, 0.03, float("nan"), 0.04], nan_ok=True)
    assert report.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def test_verdicts_use_holms_p_and_call_a_ci_across_zero_a_tie():
    from common import report

    # Means a 92.5, c 92.33, b 90.5. Paired: a - b = 2, 2.1, 1.9 (sd 0.1, t = 20 sqrt 3, and on 2 degrees
    # of freedom the two-sided p is 1 - |t| / sqrt(t^2 + 2)); a - c = 1, -1, 0.5; c - b = 1, 3.1, 1.4.
    runs = [run("a", s, v) for s, v in enumerate((92.0, 93.0, 92.5))]
    runs += [run("b", s, v) for s, v in enumerate((90.0, 90.9, 90.6))]
    runs += [run("c", s, v) for s, v in enumerate((91.0, 94.0, 92.0))]
    pairs = {(p["first"], p["second"]): p for p in report.verdicts(runs)}
    assert set(pairs) == {("a", "c"), ("a", "b"), ("c", "b")}
    p_ab = 1 - (1200 / 1202) ** 0.5
    assert pairs["a", "b"]["p_value"] == pytest.approx(p_ab, rel=1e-4)
    assert pairs["a", "b"]["p_holm"] == pytest.approx(3 * p_ab, rel=1e-4)  # the smallest of 3 p-values
    assert [pairs[k]["verdict"] for k in (("a", "b"), ("a", "c"), ("c", "b"))] == ["above", "tie", "tie"]
    # c - b alone: its CI excludes 0 only without the adjustment
    assert pairs["c", "b"]["p_value"] < 0.11 and pairs["c", "b"]["p_holm"] > 0.05


def test_a_campaign_of_one_method_says_it_has_no_pair(tmp_path):
    from common import report

    runs = [run("a", s, v) for s, v in enumerate((92.0, 93.0, 92.5))]
    assert report.write_verdicts(runs, tmp_path) == "One method: no pair to compare.\n"
    runs.append(run("b", 0, 90.0))
    assert report.write_verdicts(runs, tmp_path).startswith("Planned contrasts (")


def test_a_row_that_pools_different_settings_is_refused():
    from common import report
    from common.errors import UserError

    runs = [run("a", 0, 90.0, tasks=10), run("a", 1, 91.0, tasks=5)]
    with pytest.raises(UserError, match=r"a: seeds 0 and 1 differ in tasks \(10 and 5\)"):
        report.table_rows(runs)
    code = {"source_hash": "1" * 64, "tensorflow": "2.21.0", "keras": "3", "numpy": "2", "device": "CPU"}
    runs = [run("a", 0, 90.0) | {"provenance": [code]}, run("a", 1, 91.0) | {"provenance": [code | {"source_hash": "2" * 64}]}]
    with pytest.raises(UserError, match="a: seeds 0 and 1 come from different code \\(source_hash differs\\)"):
        report.table_rows(runs)
    runs[1]["provenance"] = [code, code | {"tensorflow": "2.20.0"}]  # resumed under another TensorFlow
    with pytest.raises(UserError, match="was resumed under other code"):
        report.table_rows(runs)


def test_a_one_seed_row_shows_no_sd(tmp_path):
    from common import report

    markdown = report.write_tables(report.table_rows([run("a", 0, 90.0), run("b", 0, 80.0)]), tmp_path)
    assert "| a | 90.00 | n/a | -1.00 | 1.00 | 1 | ? |" in markdown and "±" not in markdown


def test_the_three_scenario_table_sits_beside_hsu_et_al():
    from common import document_tables

    runs = {"task": [run("ewc (lamb=10)", 0, 98.0), run("ewc (lamb=10)", 1, 96.0), run("anpyc_wo_np", 0, 97.0)],
            "domain": [run("ewc (lamb=1000)", 0, 60.0), run("ewc (lamb=1000)", 1, 62.0)],
            "class": [run("replay", 0, 90.0), run("replay", 1, 92.0), run("replay", 2, 94.0)]}
    table = document_tables.scenario_markdown(runs).splitlines()
    assert table[0].startswith("| method (ours; Hsu et al.'s) | task-IL ours | task-IL Hsu et al. |")
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in table[2:]}
    assert rows["anpyc_wo_np"] == ["97.00", "-", "-", "-", "-", "- |"]  # no counterpart, one seed
    # 98 and 96: mean 97, sd sqrt(2); beside Online EWC's published 98.04 ± 1.10, 57.33 ± 1.44, 19.77 ± 0.04
    assert rows["ewc; Online EWC"] == ["97.00 ± 1.41", "98.04 ± 1.10", "61.00 ± 1.41", "57.33 ± 1.44", "-", "19.77 ± 0.04 |"]
    assert rows["replay; Naive rehearsal"][4:] == ["92.00 ± 2.00", "90.78 ± 0.85 |"]
    assert rows["-; SGD"][:2] == ["-", "97.98 ± 0.09"]  # theirs alone
    assert list(rows)[0] == "anpyc_wo_np" and len(rows) == 2 + 1 + len(document_tables.HSU2018_SPLIT_MNIST) - 2


def test_the_gan_table_sits_beside_memory_replay_gans():
    from common import document_tables

    def gan(method, seed, accuracy, fid, after_five, **config):
        r = run(method, seed, accuracy, **config)
        r["summary"]["fid"] = {"final_avg": fid, "bwt": 0.0, "forgetting": 0.0}
        r["matrix"] = [[accuracy] * (t + 1) for t in range(10)]
        r["matrix"][4] = [0.0, 0.0, 0.0, 0.0, 5 * after_five]  # the average of the first five after the fifth
        return r

    runs = [gan("ewc (lamb=10)", 0, 20.0, 100.0, 10.0), gan("ewc (lamb=10)", 1, 24.0, 110.0, 14.0),
            gan("anpyc_gan (lamb=1000)", 0, 30.0, 80.0, 20.0), gan("anpyc_gan (lamb=1000)", 1, 30.0, 90.0, 20.0),
            gan("replay-full", 0, 50.0, 40.0, 40.0, script="baselines/generative_replay.py")]
    table = document_tables.mergan_markdown(runs).splitlines()
    assert table[0] == ("| method (ours; Wu et al.'s) | judge accuracy (%), 10 tasks, ours | Wu et al., 10 tasks | "
                        "judge accuracy (%), 5 tasks, ours | Wu et al., 5 tasks | Fréchet distance, 10 tasks, ours |")
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in table[2:]}
    # 20 and 24: mean 22, sd 2 sqrt(2); 10 and 14 after five: 12, the same sd; FD 100 and 110: mean 105,
    # sd 5 sqrt(2); EWC's published 77.03 and 70.62
    assert rows["ewc; EWC"] == ["22.00 ± 2.83", "77.03", "12.00 ± 2.83", "70.62", "105.00 ± 7.07 |"]
    assert rows["anpyc_gan"] == ["30.00 ± 0.00", "-", "20.00 ± 0.00", "-", "85.00 ± 7.07 |"]
    assert rows["replay-full; MeRGAN-JTR"][:4] == ["50.00", "97.00", "40.00", "97.93"]  # matched by its script, not its label
    assert list(rows)[:3] == ["replay-full; MeRGAN-JTR", "anpyc_gan", "ewc; EWC"]  # ours, best first; then theirs alone
    assert rows["-; MeRGAN-RA"] == ["-", "97.01", "-", "98.19", "- |"] and len(rows) == 3 + len(document_tables.MERGAN_TABLE1) - 2


def test_their_protocols_joint_training_is_jt_and_has_no_5_task_number():
    """Their JT is ours with every digit in one task (--benchmark all), whatever its script; a run of one
    task has no accuracy after the fifth (n/a); runs without Fréchet distances have no such column."""
    from common import document_tables

    runs = [run("jt", s, 90.0 + s, script="baselines/finetuning.py", benchmark="all") for s in (0, 1)]
    runs += [run("finetuning", 0, 10.0, script="baselines/finetuning.py", benchmark="classes"),
             run("mergan_jtr", 0, 95.0, script="baselines/mergan_jtr.py", benchmark="classes")]
    runs[0]["matrix"], runs[1]["matrix"] = [[90.0]], [[91.0]]
    runs[2]["matrix"] = runs[3]["matrix"] = [[100.0] * (t + 1) for t in range(10)]
    lines = document_tables.mergan_markdown(runs).splitlines()
    assert lines[0].count("|") == 6
    assert "| jt; JT | 90.50 ± 0.71 | 96.92 | n/a | 97.66 |" in lines
    assert "| finetuning; SFT | 10.00 | 10.06 | 100.00 | 19.87 |" in lines
    assert "| mergan_jtr; MeRGAN-JTR | 95.00 | 97.00 | 100.00 | 97.93 |" in lines


def test_the_task_table_shows_each_task_when_learned_and_at_the_end():
    from common import document_tables

    runs = [run("a (c=1)", 0, 0.0), run("a (c=1)", 1, 0.0)]
    runs[0]["matrix"] = [[90.0], [80.0, 70.0], [60.0, 50.0, 40.0]]
    runs[1]["matrix"] = [[92.0], [82.0, 72.0], [62.0, 52.0, 44.0]]
    table = document_tables.tasks_markdown(runs, ["a"], [1, 3]).splitlines()
    assert table[0] == "| method | task 1 learned / final | task 3 learned |"
    assert table[2] == "| a | 91.0 / 61.0 | 42.0 |"  # task 1: (90 + 92) / 2 learned, (60 + 62) / 2 at the end


def test_a_vae_task_table_shows_the_negative_elbo_of_its_nll_csv(tmp_path):
    from common import document_tables

    runs = []
    for seed, nll in ((0, "100.0,,\n2,150.0,90.0\n"), (1, "110.0,,\n2,170.0,94.0\n")):
        (tmp_path / str(seed)).mkdir()
        (tmp_path / str(seed) / "nll.csv").write_text("after_task,task_1,task_2\n1," + nll)
        r = run("vae", seed, 90.0)
        runs.append(r | {"matrix": [[95.0], [93.0, 91.0]], "path": tmp_path / str(seed),
                         "summary": r["summary"] | {"nll": {"final_avg": 120.0}}})
    table = document_tables.tasks_markdown(runs, ["vae"], [1, 2]).splitlines()
    assert table[0] == "| method (negative ELBO, nats) | task 1 learned / final | task 2 learned |"
    assert table[2] == "| vae | 105.0 / 160.0 | 92.0 |"  # nats, not the judge's 95 / 93 / 91


def test_a_gan_sweep_is_chosen_and_listed_by_its_validation_frechet_distance(tmp_path):
    from common import report

    runs = []
    for value, fid, accuracy in (("lamb=1", 90.0, 20.0), ("lamb=10", 80.0, 15.0)):
        r = run("ewc", 0, accuracy)
        runs.append(r | {"value": value, "summary": r["summary"] | {"validation_fid": {"final_avg": fid}}})
    chosen = report.choose_by_validation(runs, tmp_path)
    assert [r["method"] for r in chosen] == ["ewc (lamb=10)"]  # the lower distance, not the higher accuracy
    sweep = (tmp_path / "sweep.md").read_text()
    assert "| method | value | validation Fréchet distance | test final average sample accuracy (%) | seeds |" in sweep
    assert "| ewc | lamb=10 (chosen) | 80.00 | 15.00 | 1 |" in sweep


def test_a_generative_campaigns_figures_say_what_their_numbers_are(tmp_path, monkeypatch):
    from common import figures

    labels = {}
    monkeypatch.setattr(figures, "_save", lambda figure, path: labels.setdefault(path.name, figure.axes[0].get_ylabel()))
    runs = [run("a", s, 50.0) for s in range(2)]
    for r in runs:
        r["matrix"] = [[90.0], [60.0, 80.0]]
        r["summary"]["fid"] = {"avg": [10.0, 30.0], "final_avg": 30.0, "bwt": -5.0, "forgetting": 5.0}
    written = {path.name for path in figures.plot_comparison(runs, tmp_path)}
    assert "average_fid.png" in written and labels["average_fid.png"] == "average Fréchet distance to the real test images"
    assert labels["average_accuracy.png"] == "average judge's accuracy on generated samples (%)"
    del runs[0]["summary"]["fid"], runs[1]["summary"]["fid"]
    labels.clear()
    assert "average_fid.png" not in {path.name for path in figures.plot_comparison(runs, tmp_path)}
    assert labels["average_accuracy.png"] == "average test accuracy (%)"
