#include "previews/sample_preview.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSaveFile>
#include <QSignalBlocker>
#include <QSlider>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

#include "previews/image_view.h"
#include "previews/run_tag_selector.h"
#include "runs/run_store.h"

SamplePreview::SamplePreview(RunStore* store, QWidget* parent) : QWidget(parent), store_(store) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(10, 6, 10, 8);
    auto* top = new QHBoxLayout;
    selector_ = new RunTagSelector(store, this);
    top->addWidget(selector_, 1);
    live_ = new QCheckBox(tr("Follow latest"), this);
    live_->setChecked(true);
    live_->setToolTip(tr("Jump to each new grid as the job reports it"));
    top->addWidget(live_);
    layout->addLayout(top);

    view_ = new ImageView(this);
    view_->setPlaceholder(tr("No sample grids yet.\nA running stage shows its samples here every few hundred iterations\n"
                             "(always for the same latent vectors z, so grids are comparable)."));
    layout->addWidget(view_, 1);

    auto* bottom = new QHBoxLayout;
    play_ = new QToolButton(this);
    play_->setIcon(style()->standardIcon(QStyle::SP_MediaPlay));
    play_->setToolTip(tr("Play through the saved grids"));
    play_->setCheckable(true);
    bottom->addWidget(play_);
    slider_ = new QSlider(Qt::Horizontal, this);
    slider_->setEnabled(false);
    slider_->setPageStep(1);
    bottom->addWidget(slider_, 1);
    stepLabel_ = new QLabel(this);
    stepLabel_->setMinimumWidth(150);
    stepLabel_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    bottom->addWidget(stepLabel_);
    layout->addLayout(bottom);

    playTimer_.setInterval(250);
    connect(&playTimer_, &QTimer::timeout, this, [this] {
        if (steps_.isEmpty()) return;
        setStepIndex((slider_->value() + 1) % int(steps_.size()));
    });
    connect(play_, &QToolButton::toggled, this, [this](bool on) {
        if (on) {
            live_->setChecked(false);
            playTimer_.start();
        } else {
            playTimer_.stop();
        }
        play_->setIcon(style()->standardIcon(on ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay));
    });
    connect(slider_, &QSlider::valueChanged, this, [this](int i) {
        if (slider_->isSliderDown()) live_->setChecked(false);  // the user is looking at an older grid
        showIndex(i);
    });
    connect(slider_, &QSlider::sliderPressed, this, [this] { live_->setChecked(false); });
    connect(live_, &QCheckBox::toggled, this, [this](bool on) {
        if (on && !steps_.isEmpty()) setStepIndex(int(steps_.size()) - 1);
    });
    connect(selector_, &RunTagSelector::selectionChanged, this, &SamplePreview::reloadSteps);
    connect(store_, &RunStore::imagesAdded, this, &SamplePreview::onImagesAdded);
    connect(store_, &RunStore::runRemoved, this, [this] { QMetaObject::invokeMethod(selector_, &RunTagSelector::refresh, Qt::QueuedConnection); });
    connect(store_, &RunStore::runChanged, this, [this] { selector_->refresh(); });
    reloadSteps();
}

int SamplePreview::runId() const { return selector_->runId(); }
QString SamplePreview::tag() const { return selector_->tag(); }
bool SamplePreview::followLatest() const { return live_->isChecked(); }
void SamplePreview::setFollowLatest(bool follow) { live_->setChecked(follow); }

void SamplePreview::showRun(int runId, const QString& tag) {
    selector_->refresh();
    selector_->select(runId, tag);
}

QImage SamplePreview::currentImage() const { return view_->image(); }

qint64 SamplePreview::currentStep() const {
    const int i = slider_->value();
    return (i >= 0 && i < steps_.size()) ? steps_[i] : -1;
}

void SamplePreview::onImagesAdded(int runId) {
    const bool hadRun = selector_->runId() >= 0;
    selector_->refresh();
    // Follow a newly started run once it shows its first grid.
    if (followLatest() && (runId != selector_->runId() || !hadRun)) {
        const RunData* r = store_->run(runId);
        if (r && r->status == QLatin1String("running")) selector_->select(runId, selector_->tag());
    }
    if (runId == selector_->runId()) reloadSteps();
}

void SamplePreview::reloadSteps() {
    const RunData* run = store_->run(selector_->runId());
    steps_ = run ? run->imageSteps(selector_->tag()) : QVector<qint64>();
    const int previous = slider_->value();
    {
        const QSignalBlocker b(slider_);
        slider_->setRange(0, std::max(0, int(steps_.size()) - 1));
        slider_->setEnabled(steps_.size() > 1);
    }
    if (steps_.isEmpty()) {
        view_->setImage({});
        view_->setCaption({});
        stepLabel_->clear();
        return;
    }
    setStepIndex(followLatest() ? int(steps_.size()) - 1 : std::min(previous, int(steps_.size()) - 1));
}

void SamplePreview::setStepIndex(int index) {
    if (slider_->value() != index) {
        slider_->setValue(index);  // -> showIndex
    } else {
        showIndex(index);
    }
}

void SamplePreview::showIndex(int index) {
    const RunData* run = store_->run(selector_->runId());
    if (!run || index < 0 || index >= steps_.size()) return;
    const qint64 step = steps_[index];
    view_->setImage(run->images.value(selector_->tag()).value(step));
    view_->setCaption(QStringLiteral("%1 · %2 · step %3").arg(run->label, selector_->tag()).arg(step));
    stepLabel_->setText(tr("step %1  (%2 / %3)").arg(step).arg(index + 1).arg(steps_.size()));
}

bool SamplePreview::exportPng(const QString& path, QString* error) const {
    const QImage image = currentImage();
    if (image.isNull()) {
        if (error) *error = tr("there is no sample grid to export yet");
        return false;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !image.save(&file, "PNG") || !file.commit()) {
        if (error) *error = tr("%1: cannot write (%2)").arg(path, file.errorString());
        return false;
    }
    return true;
}
