#!/usr/bin/python3
"""Where an experiment's wall time goes: sums the trainer's per-phase times (timing.json, written by every
training run at its end: engine/train/multi_critic_trainer.h, phaseSeconds) over all runs under a folder,
and sets them against the runs' whole wall time (summary.json "wall_seconds"); the difference is what a
job does outside its training loop (loading data and generators, radii and the coverage check, the
evaluation set-up, writing outputs).

  /usr/bin/python3 bench/experiment_phases.py runs/fashion_overlapping [more run folders...]

Prints a markdown table: per phase, seconds and share of the runs' wall time; a resumed run counts only
its last part (timing.json is rewritten by each part).
"""
import json
import os
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    phases, runs, wall = {}, 0, 0.0
    for root in sys.argv[1:]:
        for folder, _, files in os.walk(root):
            if "timing.json" not in files:
                continue
            with open(os.path.join(folder, "timing.json")) as f:
                timing = json.load(f)
            runs += 1
            for phase, seconds in timing["seconds"].items():
                phases[phase] = phases.get(phase, 0.0) + seconds
            summary = os.path.join(folder, "summary.json")
            if os.path.exists(summary):
                with open(summary) as f:
                    wall += json.load(f).get("wall_seconds", 0.0)
    if not runs:
        sys.exit("no timing.json under " + " ".join(sys.argv[1:]) + " (runs made before the phase timing existed?)")
    trained = sum(phases.values())
    print(f"{runs} training runs, {wall:.0f} s of run wall time, {trained:.0f} s in the training loop\n")
    print("| phase | seconds | share of the runs' wall time |")
    print("|---|---|---|")
    for phase, seconds in sorted(phases.items(), key=lambda item: -item[1]):
        print(f"| {phase} | {seconds:.1f} | {100 * seconds / wall:.1f} % |" if wall else f"| {phase} | {seconds:.1f} | |")
    if wall:
        rest = wall - trained
        print(f"| outside the training loop (set-up, radii, outputs) | {rest:.1f} | {100 * rest / wall:.1f} % |")


if __name__ == "__main__":
    main()
