// The Results view's data: one row per run (and per method run inside an experiment) with the final
// value of every evaluation metric, so runs can be compared as a table rather than as lone points on a
// step axis. Pure data (no widgets): built from the RunStore, exported as CSV or Markdown.
#pragma once
#include <QString>
#include <QStringList>
#include <QVector>

class RunStore;

struct ResultsRow {
    int runId = 0;
    QString run;     // the run's label (an experiment's rows: "<experiment> · <method n= seed>")
    QString kind;
    QString status;
    qint64 step = -1;              // the step of the last evaluation (-1: none)
    QVector<double> values;        // per metric column; NaN where the run has none
};

struct ResultsTable {
    QStringList metrics;  // column names: "fid", "kid", "w1", ... (evaluation metrics, most telling first)
    QVector<ResultsRow> rows;
};

// Final evaluation values ("eval/<m>" series, and an experiment's "<m>/<run>" series) of every run.
ResultsTable buildResultsTable(const RunStore& store);
QString resultsToCsv(const ResultsTable& table);
QString resultsToMarkdown(const ResultsTable& table);
