#include "panels/local_data_panel.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include "previews/image_view.h"
#include "project/project.h"
#include "project/stage_readiness.h"

LocalDataPanel::LocalDataPanel(Project* project, QWidget* parent) : QWidget(parent), project_(project) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);

    auto* specRow = new QHBoxLayout;
    spec_ = new QComboBox(this);
    spec_->setEditable(true);
    spec_->setInsertPolicy(QComboBox::NoInsert);
    spec_->addItems({"fashion-mnist:train:8,9", "fashion-mnist:train:8", "toy:ring8", "mnist:train:8,9"});
    spec_->setToolTip(tr("Dataset spec: fashion-mnist:train[:classes], folder:<dir>[:classes], "
                         "idx:<images>:<labels>[:classes] or toy:<mixture>"));
    auto* browse = new QToolButton(this);
    browse->setText(tr("Folder…"));
    browse->setToolTip(tr("A folder of images (class sub-folders or images directly)"));
    auto* idx = new QToolButton(this);
    idx->setText(tr("IDX…"));
    idx->setToolTip(tr("An IDX images file and its labels file"));
    specRow->addWidget(spec_, 1);
    specRow->addWidget(browse);
    specRow->addWidget(idx);
    form->addRow(tr("Data"), specRow);

    count_ = new QSpinBox(this);
    count_->setRange(1, 100000);
    count_->setToolTip(tr("Number of local samples n (the paper uses 8, 20 or 100)"));
    count_->setKeyboardTracking(false);
    seed_ = new QSpinBox(this);
    seed_->setRange(0, 1 << 30);
    seed_->setToolTip(tr("Seed that picks the n samples (recorded with every run)"));
    seed_->setKeyboardTracking(false);
    auto* nRow = new QHBoxLayout;
    nRow->addWidget(count_);
    nRow->addWidget(new QLabel(tr("seed"), this));
    nRow->addWidget(seed_);
    nRow->addStretch(1);
    form->addRow(tr("Samples n"), nRow);
    layout->addLayout(form);

    status_ = new QLabel(this);
    status_->setWordWrap(true);
    layout->addWidget(status_);

    show_ = new QPushButton(tr("Show the chosen samples"), this);
    layout->addWidget(show_);
    preview_ = new ImageView(this);
    preview_->setPlaceholder(tr("The n samples the adaptation stage will use appear here."));
    preview_->setMinimumHeight(140);
    layout->addWidget(preview_, 1);

    connect(spec_->lineEdit(), &QLineEdit::editingFinished, this, &LocalDataPanel::commit);
    connect(spec_, &QComboBox::activated, this, &LocalDataPanel::commit);
    connect(spec_, &QComboBox::editTextChanged, this, &LocalDataPanel::validate);
    connect(count_, &QSpinBox::valueChanged, this, &LocalDataPanel::commit);
    connect(seed_, &QSpinBox::valueChanged, this, &LocalDataPanel::commit);
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Local data folder"));
        if (dir.isEmpty()) return;
        spec_->setEditText("folder:" + dir);
        commit();
    });
    connect(idx, &QToolButton::clicked, this, [this] {
        const QString images = QFileDialog::getOpenFileName(this, tr("IDX images file"), {}, tr("IDX files (*idx3* *.gz);;All files (*)"));
        if (images.isEmpty()) return;
        const QString labels = QFileDialog::getOpenFileName(this, tr("IDX labels file"), QFileInfo(images).absolutePath(),
                                                            tr("IDX files (*idx1* *.gz);;All files (*)"));
        if (labels.isEmpty()) return;
        spec_->setEditText("idx:" + images + ":" + labels);
        commit();
    });
    connect(show_, &QPushButton::clicked, this, [this] {
        commit();
        requestPreview();
    });
    autoPreview_.setSingleShot(true);
    autoPreview_.setInterval(400);  // typing a spec or spinning n: one load after the edits settle
    connect(&autoPreview_, &QTimer::timeout, this, &LocalDataPanel::autoPreview);
    connect(project_, &Project::localDataChanged, this, &LocalDataPanel::refresh);
    connect(project_, &Project::reset, this, &LocalDataPanel::refresh);
    refresh();
}

QString LocalDataPanel::previewKey() const {
    return QStringLiteral("%1|%2|%3").arg(currentSpec()).arg(count_->value()).arg(seed_->value());
}

void LocalDataPanel::requestPreview() {
    const QString why = problem();
    shownKey_ = previewKey();
    if (!why.isEmpty()) {
        setPreviewError(why);
        return;
    }
    setPreviewBusy();
    pending_ = true;
    Q_EMIT previewRequested(currentSpec(), count_->value(), seed_->value());
}

void LocalDataPanel::autoPreview() {
    if (isVisible() && !pending_ && problem().isEmpty() && previewKey() != shownKey_) requestPreview();
}

void LocalDataPanel::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    autoPreview_.start(0);
}

QString LocalDataPanel::currentSpec() const { return spec_->currentText().trimmed(); }

void LocalDataPanel::refresh() {
    const LocalDataSettings d = project_->localData();
    const QSignalBlocker b1(spec_), b2(count_), b3(seed_);
    spec_->setEditText(d.spec);
    count_->setValue(d.count);
    seed_->setValue(int(d.seed));
    validate();
    if (isVisible()) autoPreview_.start();
}

void LocalDataPanel::commit() {
    LocalDataSettings d;
    d.spec = currentSpec();
    d.count = count_->value();
    d.seed = seed_->value();
    project_->setLocalData(d);
    validate();
}

QString LocalDataPanel::problem() const {
    const QString why = localDataSpecProblem(currentSpec());
    if (!why.isEmpty()) return why;
    // What the engine said when it loaded exactly these samples for the preview.
    return previewKey() == errorKey_ ? previewError_ : QString();
}

void LocalDataPanel::validate() {
    const QString why = problem();
    if (!why.isEmpty() && !pending_) setPreviewError(why);  // never an old preview beside a ✗
    if (why.isEmpty()) {
        status_->setStyleSheet(QString());
        status_->setText(tr("✓ %1 · n = %2, seed %3").arg(currentSpec()).arg(count_->value()).arg(seed_->value()));
    } else {
        status_->setStyleSheet(QStringLiteral("color: #d9534f;"));
        status_->setText(QStringLiteral("✗ ") + why);
    }
}

void LocalDataPanel::setPreview(const QImage& image, const QString& caption) {
    pending_ = false;
    previewError_.clear();
    errorKey_.clear();
    if (isVisible() && previewKey() != shownKey_) autoPreview_.start();  // edited while it loaded
    preview_->setImage(image);
    preview_->setCaption(caption);
}

void LocalDataPanel::setPreviewError(const QString& message) {
    const bool fromEngine = pending_;
    pending_ = false;
    if (fromEngine) {  // the engine could not load these samples: the spec is not usable as it stands
        previewError_ = message;
        errorKey_ = shownKey_;
        validate();
    }
    preview_->setImage({});
    preview_->setCaption({});
    preview_->setPlaceholder(message);
}

void LocalDataPanel::setPreviewBusy() {
    preview_->setImage({});
    preview_->setCaption({});
    preview_->setPlaceholder(tr("Loading…"));
}
