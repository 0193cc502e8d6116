#include "previews/run_tag_selector.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QSignalBlocker>

#include "runs/run_store.h"

RunTagSelector::RunTagSelector(RunStore* store, QWidget* parent) : QWidget(parent), store_(store) {
    auto* l = new QHBoxLayout(this);
    l->setContentsMargins(0, 0, 0, 0);
    runs_ = new QComboBox(this);
    runs_->setMinimumContentsLength(16);
    runs_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    runs_->setToolTip(tr("Run"));
    tags_ = new QComboBox(this);
    tags_->setMinimumContentsLength(8);
    tags_->setToolTip(tr("Image tag (e.g. samples, ternary)"));
    l->addWidget(runs_, 2);
    l->addWidget(tags_, 1);
    connect(runs_, &QComboBox::currentIndexChanged, this, [this] {
        if (refreshing_) return;
        refillTags();
        Q_EMIT selectionChanged();
    });
    connect(tags_, &QComboBox::currentIndexChanged, this, [this] {
        if (!refreshing_) Q_EMIT selectionChanged();
    });
    connect(runs_, &QComboBox::activated, this, &RunTagSelector::userChangedSelection);
    connect(tags_, &QComboBox::activated, this, &RunTagSelector::userChangedSelection);
    refresh();
}

int RunTagSelector::runId() const { return runs_->currentIndex() < 0 ? -1 : runs_->currentData().toInt(); }
QString RunTagSelector::tag() const { return tags_->currentText(); }

void RunTagSelector::select(int runId, const QString& tag) {
    const int i = runs_->findData(runId);
    if (i < 0) return;
    {
        const QSignalBlocker b1(runs_);
        runs_->setCurrentIndex(i);
        refillTags();
        if (!tag.isEmpty()) {
            const QSignalBlocker b2(tags_);
            const int t = tags_->findText(tag);
            if (t >= 0) tags_->setCurrentIndex(t);
        }
    }
    Q_EMIT selectionChanged();
}

void RunTagSelector::refresh() {
    const int previousRun = runId();
    const QString previousTag = tag();
    refreshing_ = true;
    {
        const QSignalBlocker b(runs_);
        runs_->clear();
        for (int id : store_->ids()) {
            const RunData* r = store_->run(id);
            if (!r || r->images.isEmpty()) continue;
            QPixmap swatch(10, 10);
            swatch.fill(r->color);
            runs_->addItem(QIcon(swatch), r->label, id);
        }
        const int i = runs_->findData(previousRun);
        runs_->setCurrentIndex(i >= 0 ? i : runs_->count() - 1);
        refillTags();
        const int t = tags_->findText(previousTag);
        if (t >= 0) tags_->setCurrentIndex(t);
    }
    refreshing_ = false;
    if (runId() != previousRun || tag() != previousTag) Q_EMIT selectionChanged();
}

void RunTagSelector::refillTags() {
    const QSignalBlocker b(tags_);
    const QString previous = tags_->currentText();
    tags_->clear();
    if (const RunData* r = store_->run(runId())) tags_->addItems(r->imageTags());
    const int t = tags_->findText(previous);
    if (t >= 0)
        tags_->setCurrentIndex(t);
    else if (const int s = tags_->findText(QStringLiteral("samples")); s >= 0)
        tags_->setCurrentIndex(s);
}
