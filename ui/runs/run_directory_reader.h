// Reads a finished (or running) run directory written by engine/run/run_directory.h into a RunStore:
// metrics.csv (step,name,value), samples/[<tag>_]step_XXXXXX.png (or, without them, final_grid.png as
// the "samples" grid at summary.json's steps), checkpoints/, config.json and summary.json. Qt-only: opening an old run never loads torch.
#pragma once
#include <QString>

class RunStore;

struct RunDirectoryContents {
    QString kind;     // from config.json
    QString status;   // "finished" if summary.json exists, else "incomplete"
    int metricRows = 0;
    int images = 0;
    int checkpoints = 0;
    int skippedRows = 0;  // malformed metrics.csv lines (reported, not fatal)
};

// True if `dir` looks like a run directory (has config.json or metrics.csv).
bool isRunDirectory(const QString& dir);
// What the run's summary.json says it ended as: "finished", "failed", "cancelled", or "unfinished"
// (no summary yet: running elsewhere, or killed).
QString recordedRunStatus(const QString& dir);
// Loads into a new run of `store`; returns its id, or -1 with *error set.
int loadRunDirectory(const QString& dir, RunStore& store, RunDirectoryContents* contents, QString* error);
