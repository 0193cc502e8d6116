#include "previews/compare_preview.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QToolButton>
#include <algorithm>
#include <limits>

#include "previews/image_view.h"
#include "previews/run_tag_selector.h"
#include "runs/run_store.h"

ComparePreview::ComparePreview(RunStore* store, QWidget* parent) : QWidget(parent), store_(store) {
    auto* layout = new QGridLayout(this);
    layout->setContentsMargins(10, 6, 10, 8);
    left_ = new RunTagSelector(store, this);
    right_ = new RunTagSelector(store, this);
    auto* swap = new QToolButton(this);
    swap->setText(QStringLiteral("⇄"));
    swap->setToolTip(tr("Swap sides"));
    layout->addWidget(left_, 0, 0);
    layout->addWidget(swap, 0, 1);
    layout->addWidget(right_, 0, 2);
    leftView_ = new ImageView(this);
    rightView_ = new ImageView(this);
    const QString placeholder = tr("Pick a run and an image tag.\nBoth sides use the same latent vectors z.");
    leftView_->setPlaceholder(placeholder);
    rightView_->setPlaceholder(placeholder);
    layout->addWidget(leftView_, 1, 0);
    layout->addWidget(rightView_, 1, 2);
    layout->setColumnStretch(0, 1);
    layout->setColumnStretch(2, 1);
    layout->setRowStretch(1, 1);
    auto* bottom = new QHBoxLayout;
    slider_ = new QSlider(Qt::Horizontal, this);
    slider_->setEnabled(false);
    stepLabel_ = new QLabel(this);
    stepLabel_->setMinimumWidth(120);
    stepLabel_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    bottom->addWidget(new QLabel(tr("Step"), this));
    bottom->addWidget(slider_, 1);
    bottom->addWidget(stepLabel_);
    layout->addLayout(bottom, 2, 0, 1, 3);

    connect(slider_, &QSlider::valueChanged, this, &ComparePreview::showStep);
    connect(left_, &RunTagSelector::selectionChanged, this, &ComparePreview::rebuildSteps);
    connect(right_, &RunTagSelector::selectionChanged, this, &ComparePreview::rebuildSteps);
    connect(left_, &RunTagSelector::userChangedSelection, this, [this] { userPicked_ = true; });
    connect(right_, &RunTagSelector::userChangedSelection, this, [this] { userPicked_ = true; });
    connect(swap, &QToolButton::clicked, this, [this] {
        const int lr = left_->runId(), rr = right_->runId();
        const QString lt = left_->tag(), rt = right_->tag();
        userPicked_ = true;
        showPair(rr, rt, lr, lt);
    });
    connect(store_, &RunStore::imagesAdded, this, [this] {
        left_->refresh();
        right_->refresh();
        if (!userPicked_) chooseDefaultPair();
        rebuildSteps();
    });
    connect(store_, &RunStore::runRemoved, this, [this] {
        QMetaObject::invokeMethod(this, [this] {
            left_->refresh();
            right_->refresh();
            rebuildSteps();
        }, Qt::QueuedConnection);
    });
}

void ComparePreview::chooseDefaultPair() {
    // Same run, float vs ternary grids if the run has both; else the two newest runs with images.
    QVector<int> withImages;
    for (int id : store_->ids())
        if (const RunData* r = store_->run(id); r && !r->images.isEmpty()) withImages << id;
    if (withImages.isEmpty()) return;
    for (auto it = withImages.crbegin(); it != withImages.crend(); ++it) {
        const RunData* r = store_->run(*it);
        const QStringList tags = r->imageTags();
        if (tags.size() >= 2) {
            const QString a = tags.contains("samples") ? QStringLiteral("samples") : tags[0];
            QString b = tags.contains("ternary") ? QStringLiteral("ternary") : tags[0] == a ? tags[1] : tags[0];
            showPair(*it, a, *it, b);
            userPicked_ = false;
            return;
        }
    }
    const int newest = withImages.last();
    const int previous = withImages.size() > 1 ? withImages[withImages.size() - 2] : newest;
    showPair(previous, "samples", newest, "samples");
    userPicked_ = false;
}

void ComparePreview::showPair(int leftRun, const QString& leftTag, int rightRun, const QString& rightTag) {
    left_->refresh();
    right_->refresh();
    {
        const QSignalBlocker b1(left_), b2(right_);
        left_->select(leftRun, leftTag);
        right_->select(rightRun, rightTag);
    }
    userPicked_ = true;
    rebuildSteps();
}

QImage ComparePreview::leftImage() const { return leftView_->image(); }
QImage ComparePreview::rightImage() const { return rightView_->image(); }

void ComparePreview::rebuildSteps() {
    steps_.clear();
    for (RunTagSelector* s : {left_, right_})
        if (const RunData* r = store_->run(s->runId())) steps_ += r->imageSteps(s->tag());
    std::sort(steps_.begin(), steps_.end());
    steps_.erase(std::unique(steps_.begin(), steps_.end()), steps_.end());
    const int previous = slider_->value();
    const bool atEnd = previous >= slider_->maximum();  // following the newest grids
    {
        const QSignalBlocker b(slider_);
        slider_->setRange(0, std::max(0, int(steps_.size()) - 1));
        slider_->setEnabled(steps_.size() > 1);
        slider_->setValue(atEnd ? slider_->maximum() : std::min(previous, slider_->maximum()));
    }
    showStep();
}

void ComparePreview::showSide(RunTagSelector* selector, ImageView* view, qint64 step) {
    const RunData* r = store_->run(selector->runId());
    if (!r) {
        view->setImage({});
        view->setCaption({});
        return;
    }
    const QMap<qint64, QImage> grids = r->images.value(selector->tag());
    // Latest grid at or before `step` (or the first one if the side starts later).
    auto it = grids.upperBound(step);
    if (it != grids.begin()) --it;
    if (it == grids.end()) {
        view->setImage({});
        view->setCaption({});
        return;
    }
    view->setImage(it.value());
    view->setCaption(QStringLiteral("%1 · %2 · step %3").arg(r->label, selector->tag()).arg(it.key()));
}

void ComparePreview::showStep() {
    const int i = slider_->value();
    const qint64 step = (i >= 0 && i < steps_.size()) ? steps_[i] : std::numeric_limits<qint64>::max();
    showSide(left_, leftView_, step);
    showSide(right_, rightView_, step);
    stepLabel_->setText(steps_.isEmpty() ? QString() : tr("step %1").arg(step));
}
