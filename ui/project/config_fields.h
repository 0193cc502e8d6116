// How the stage forms show a job-config key: its label, help text, widget kind, range and choices.
// One table for every stage (keys mean the same in every job: jobs/*.cpp headers), looked up by the
// key's path ("iterations", "runtime.threads", "evaluation.real_samples"). Keys without an entry
// still get a field, chosen by their JSON type, so a new engine option is never hidden from the form.
#pragma once
#include <QString>
#include <QStringList>

enum class FieldKind {
    Integer,    // spin box within [minimum, maximum]
    Number,     // decimal text (learning rates need 0.0002, not a 2-decimal spin box)
    Text,       // free text
    Choice,     // one of `choices`
    Boolean,    // check box
    File,       // a model file: text + "…" picker
    DataSpec,   // a dataset spec ("fashion-mnist:train:8,9", "folder:…")
    JsonValue,  // arrays and anything else: compact JSON text
};

struct FieldHint {
    QString label;
    QString help;
    FieldKind kind = FieldKind::JsonValue;
    double minimum = 0;
    double maximum = 1e9;
    QStringList choices;
    bool known = false;  // false: no entry in the table, kind guessed from the value
};

// `path` is dot-separated from the config's top level; `kind` is the job kind (a few keys differ).
FieldHint fieldHint(const QString& kind, const QString& path);
// Keys shown first, in this order; the rest follow alphabetically.
QStringList preferredKeyOrder();
