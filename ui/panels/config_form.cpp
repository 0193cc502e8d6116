#include "panels/config_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>
#include <cmath>
#include <limits>

#include "project/config_fields.h"

namespace {
// "batch_size" -> "Batch size": keys without a table entry still read as words.
QString fieldTitleOf(const QString& key) {
    QString t = key;
    t.replace('_', ' ');
    if (!t.isEmpty()) t[0] = t[0].toUpper();
    return t;
}

QJsonObject withValue(QJsonObject object, const QStringList& path, const QJsonValue& value) {
    if (path.size() == 1) {
        object[path.front()] = value;
        return object;
    }
    object[path.front()] = withValue(object.value(path.front()).toObject(), path.mid(1), value);
    return object;
}

// A JSON scalar or array as one line ("[1, 2, 3]"), and back.
QString compactJson(const QJsonValue& v) {
    const QByteArray wrapped = QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(wrapped.mid(1, wrapped.size() - 2));
}
// What a read-only key that follows the project shows: a list of sources as "classes 0-3 (η 0.5) ·
// classes 4-7 (η 1)" instead of their JSON (which stays in the tooltip and the Advanced view).
QString projectValueText(const QJsonValue& v) {
    if (!v.isArray()) return compactJson(v);
    QStringList items;
    for (const QJsonValue& item : v.toArray()) {
        const QJsonObject o = item.toObject();
        if (o.isEmpty()) return compactJson(v);
        QString name = o.value("name").toString();
        if (name.isEmpty()) name = QFileInfo(o.value("generator").toString(o.value("data").toString())).fileName();
        if (o.contains("radius")) name += QStringLiteral(" (η %1)").arg(o.value("radius").toDouble());
        items << name;
    }
    return items.isEmpty() ? QObject::tr("none") : items.join(QStringLiteral(" · "));
}
QString followsProjectTip(const QString& path) {
    return QObject::tr("Follows the project (Sources and Local data docks): %1").arg(path);
}
bool parseJsonValue(const QString& text, QJsonValue* out) {
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson("[" + text.toUtf8() + "]", &error);
    if (error.error != QJsonParseError::NoError || doc.array().size() != 1) return false;
    *out = doc.array().at(0);
    return true;
}

QString numberText(double v) { return QString::number(v, 'g', 12); }

void markInvalid(QWidget* w, bool invalid, const QString& why = {}) {
    w->setStyleSheet(invalid ? QStringLiteral("border: 1px solid #d9534f;") : QString());
    w->setProperty("invalidReason", invalid ? why : QString());
}

FieldKind guessedKind(const QJsonValue& v) {
    if (v.isBool()) return FieldKind::Boolean;
    if (v.isDouble()) return FieldKind::Number;
    if (v.isString()) return FieldKind::Text;
    return FieldKind::JsonValue;
}
}  // namespace

ConfigForm::ConfigForm(QWidget* parent) : QWidget(parent) {
    outer_ = new QVBoxLayout(this);
    outer_->setContentsMargins(0, 0, 0, 0);
    outer_->addStretch(1);  // the fields stay at the top of a tall dock
}

QString ConfigForm::signature(const QJsonObject& object, const QString& prefix) {
    // Which keys exist and which are objects: when this is unchanged, values are updated in place
    // (the field being typed into keeps its focus and cursor).
    QString s;
    for (auto it = object.begin(); it != object.end(); ++it) {
        s += prefix + it.key() + (it.value().isObject() ? QStringLiteral("{") : QStringLiteral(";"));
        if (it.value().isObject()) s += signature(it.value().toObject(), prefix + it.key() + '.') + '}';
    }
    return s;
}

void ConfigForm::setConfig(const QString& kind, const QJsonObject& config, const QSet<QString>& projectKeys,
                           const QSet<QString>& pickable, const QSet<QString>& overridden) {
    const bool sameShape = kind == kind_ && projectKeys == projectKeys_ && pickable == pickable_ &&
                           overridden == overridden_ && signature(config) == shownSignature_ && content_;
    kind_ = kind;
    config_ = config;
    projectKeys_ = projectKeys;
    pickable_ = pickable;
    overridden_ = overridden;
    if (!sameShape) {
        rebuild();
        return;
    }
    std::function<void(const QJsonObject&, const QString&)> update = [&](const QJsonObject& o, const QString& prefix) {
        for (auto it = o.begin(); it != o.end(); ++it) {
            const QString path = prefix + it.key();
            if (it.value().isObject()) update(it.value().toObject(), path + '.');
            else if (show_.contains(path)) show_[path](it.value());
        }
    };
    update(config_, {});
}

void ConfigForm::rebuild() {
    if (content_) {
        outer_->removeWidget(content_);
        content_->hide();
        content_->deleteLater();  // may hold the focused field whose edit led here
    }
    fields_.clear();
    show_.clear();
    content_ = new QWidget(this);
    auto* form = new QFormLayout(content_);
    form->setContentsMargins(0, 0, 0, 0);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->setRowWrapPolicy(QFormLayout::WrapLongRows);  // a narrow dock puts long fields under their label
    // An input file with no run to follow yet still gets its picker ("run the Barycenter stage first"
    // or pick a file): shown empty, set when a file is picked.
    QJsonObject shown = config_;
    for (const QString& key : pickable_)
        if (!shown.contains(key)) shown[key] = QString();
    addFields(form, shown, {});
    outer_->insertWidget(0, content_);
    shownSignature_ = signature(config_);
}

void ConfigForm::addFields(QFormLayout* form, const QJsonObject& object, const QStringList& prefix) {
    QStringList keys;
    const QStringList order = preferredKeyOrder();
    for (const QString& k : order)
        if (object.contains(k)) keys << k;
    QStringList rest = object.keys();
    rest.sort();
    for (const QString& k : rest)
        if (!keys.contains(k)) keys << k;
    for (const QString& key : keys) {
        if (prefix.isEmpty() && key == QLatin1String("kind")) continue;
        const QStringList path = prefix + QStringList{key};
        const QString dotted = path.join('.');
        const FieldHint hint = fieldHint(kind_, dotted);
        const QString label = hint.known ? hint.label : fieldTitleOf(key);
        const QJsonValue value = object.value(key);
        if (value.isObject()) {
            auto* group = new QGroupBox(label, content_);
            auto* inner = new QFormLayout(group);
            inner->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
            inner->setRowWrapPolicy(QFormLayout::WrapLongRows);
            addFields(inner, value.toObject(), path);
            form->addRow(group);
            continue;
        }
        QWidget* field = makeField(dotted, value);
        auto* name = new QLabel(label, content_);
        name->setToolTip(hint.help.isEmpty() ? dotted : hint.help + QStringLiteral("\n(") + dotted + ')');
        // The help, then what a field that follows the project says about where its value comes from.
        field->setToolTip(field->toolTip().isEmpty() ? name->toolTip() : name->toolTip() + QStringLiteral("\n") + field->toolTip());
        // Paths and dataset specs are long: their field gets the full width, under the label.
        const bool wide = hint.kind == FieldKind::File || hint.kind == FieldKind::DataSpec ||
                          (value.isString() && value.toString().size() > 24);
        if (wide) {
            form->addRow(name);
            form->addRow(field);
        } else {
            form->addRow(name, field);
        }
    }
}

void ConfigForm::setValue(const QString& path, const QJsonValue& value) {
    config_ = withValue(config_, path.split('.'), value);
    Q_EMIT edited(config_);
}

QWidget* ConfigForm::makeField(const QString& path, const QJsonValue& value) {
    const FieldHint hint = fieldHint(kind_, path);
    const QString topKey = path.section('.', 0, 0);
    const bool fromProject = projectKeys_.contains(topKey);
    const bool pickable = pickable_.contains(topKey);
    FieldKind kind = hint.known ? hint.kind : guessedKind(value);
    // A value of another type than the table expects (e.g. "radii": "auto" vs numbers) stays editable as JSON.
    if ((kind == FieldKind::Integer || kind == FieldKind::Number) && !value.isDouble()) kind = FieldKind::JsonValue;
    if (kind == FieldKind::Boolean && !value.isBool()) kind = FieldKind::JsonValue;
    if (fromProject && !pickable) kind = value.isString() ? FieldKind::Text : FieldKind::JsonValue;

    QWidget* widget = nullptr;
    switch (kind) {
    case FieldKind::Integer: {
        auto* spin = new QSpinBox(content_);
        spin->setRange(int(std::max<double>(hint.minimum, std::numeric_limits<int>::min())),
                       int(std::min<double>(hint.maximum, std::numeric_limits<int>::max())));
        spin->setKeyboardTracking(false);  // one edit per typed number, not one per digit
        show_[path] = [spin](const QJsonValue& v) {
            const QSignalBlocker b(spin);
            spin->setValue(int(v.toDouble()));
        };
        connect(spin, qOverload<int>(&QSpinBox::valueChanged), this, [this, path](int v) { setValue(path, v); });
        widget = spin;
        break;
    }
    case FieldKind::Number: {
        auto* edit = new QLineEdit(content_);
        show_[path] = [edit](const QJsonValue& v) {
            if (edit->hasFocus()) return;  // don't rewrite "0.000" while it is being typed
            const QSignalBlocker b(edit);
            edit->setText(numberText(v.toDouble()));
        };
        const double lo = hint.known ? hint.minimum : -std::numeric_limits<double>::infinity();
        const double hi = hint.known ? hint.maximum : std::numeric_limits<double>::infinity();
        connect(edit, &QLineEdit::textEdited, this, [this, edit, path, lo, hi](const QString& text) {
            bool ok = false;
            const double v = text.trimmed().toDouble(&ok);
            const bool valid = ok && std::isfinite(v) && v >= lo && v <= hi;
            markInvalid(edit, !valid, tr("a number from %1 to %2").arg(lo).arg(hi));
            if (valid) setValue(path, v);
        });
        widget = edit;
        break;
    }
    case FieldKind::Boolean: {
        auto* box = new QCheckBox(content_);
        show_[path] = [box](const QJsonValue& v) {
            const QSignalBlocker b(box);
            box->setChecked(v.toBool());
        };
        connect(box, &QCheckBox::toggled, this, [this, path](bool on) { setValue(path, on); });
        widget = box;
        break;
    }
    case FieldKind::Choice: {
        auto* combo = new QComboBox(content_);
        combo->addItems(hint.choices);
        show_[path] = [combo](const QJsonValue& v) {
            const QSignalBlocker b(combo);
            const QString text = v.toString();
            if (combo->findText(text) < 0) combo->addItem(text);  // a value the table does not list yet
            combo->setCurrentText(text);
        };
        connect(combo, &QComboBox::textActivated, this, [this, path](const QString& text) { setValue(path, text); });
        widget = combo;
        break;
    }
    case FieldKind::File:
    case FieldKind::DataSpec:
    case FieldKind::Text: {
        auto* edit = new QLineEdit(content_);
        show_[path] = [edit](const QJsonValue& v) {
            if (edit->hasFocus()) return;
            const QSignalBlocker b(edit);
            edit->setText(v.toString());
            edit->setCursorPosition(0);  // a long path or spec shows its start
        };
        if (fromProject && !pickable) {
            edit->setReadOnly(true);
            edit->setForegroundRole(QPalette::PlaceholderText);
        } else {
            connect(edit, &QLineEdit::textEdited, this, [this, path](const QString& text) { setValue(path, text); });
        }
        if (kind != FieldKind::File) {
            widget = edit;
            break;
        }
        auto* row = new QWidget(content_);
        auto* h = new QHBoxLayout(row);
        h->setContentsMargins(0, 0, 0, 0);
        h->addWidget(edit, 1);
        auto* pick = new QToolButton(row);
        pick->setText(QStringLiteral("…"));
        pick->setToolTip(tr("Pick a model file"));
        connect(pick, &QToolButton::clicked, this, [this, edit, path] {
            const QString file = QFileDialog::getOpenFileName(this, tr("Choose a model file"), edit->text(),
                                                              tr("Models (*.coalesce *.pt *.pth *.safetensors);;All files (*)"));
            if (file.isEmpty()) return;
            edit->setText(file);
            setValue(path, file);
        });
        h->addWidget(pick);
        if (pickable) {
            edit->setPlaceholderText(tr("the newest finished run (none yet: run its stage first, or pick a file)"));
            auto* latest = new QToolButton(row);
            latest->setObjectName(QStringLiteral("latest"));
            latest->setText(tr("Latest"));
            latest->setCheckable(true);
            latest->setChecked(!overridden_.contains(topKey));
            latest->setToolTip(tr("Follow the newest finished run (checked), or use the file you picked"));
            connect(latest, &QToolButton::clicked, this, [this, topKey, latest] {
                latest->setChecked(true);
                Q_EMIT followProject(topKey);
            });
            h->addWidget(latest);
        }
        fields_[path] = edit;
        widget = row;
        break;
    }
    case FieldKind::JsonValue: {
        auto* edit = new QLineEdit(content_);
        show_[path] = [edit, fromProject, path](const QJsonValue& v) {
            if (edit->hasFocus()) return;
            const QSignalBlocker b(edit);
            edit->setText(fromProject ? projectValueText(v) : compactJson(v));
            if (fromProject) edit->setToolTip(followsProjectTip(path) + QStringLiteral("\n") + compactJson(v));
            edit->setCursorPosition(0);
        };
        if (fromProject) {
            edit->setReadOnly(true);
            edit->setForegroundRole(QPalette::PlaceholderText);
            edit->setProperty("followsProject", true);
        } else {
            connect(edit, &QLineEdit::textEdited, this, [this, edit, path](const QString& text) {
                QJsonValue v;
                const bool valid = parseJsonValue(text, &v);
                markInvalid(edit, !valid, tr("not valid JSON"));
                if (valid) setValue(path, v);
            });
        }
        widget = edit;
        break;
    }
    }
    if (!fields_.contains(path)) fields_[path] = widget;
    show_[path](value);
    if (fromProject && !pickable && widget->toolTip().isEmpty()) widget->setToolTip(followsProjectTip(path));
    return widget;
}
