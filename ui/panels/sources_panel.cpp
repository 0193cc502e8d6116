#include "panels/sources_panel.h"

#include <numeric>

#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSlider>
#include <QToolButton>
#include <QVBoxLayout>

#include "panels/radius_slider.h"
#include "project/project.h"
#include "project/stage_readiness.h"

int SourceCard::nextDragKey_ = 1;

// ------------------------------------------------------------------------------------------ card

SourceCard::SourceCard(Project* project, const QString& sourceId, QWidget* parent)
    : QFrame(parent), project_(project), id_(sourceId) {
    setObjectName("sourceCard");
    setFrameShape(QFrame::StyledPanel);
    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(8, 6, 8, 6);
    grid->setHorizontalSpacing(6);
    grid->setVerticalSpacing(3);

    enabled_ = new QCheckBox(this);
    enabled_->setToolTip(tr("Include this generator in the barycenter"));
    name_ = new QLineEdit(this);
    name_->setObjectName("sourceName");
    name_->setFrame(false);
    name_->setStyleSheet(QStringLiteral("QLineEdit { background: transparent; }"));
    QFont bold = name_->font();
    bold.setBold(true);
    name_->setFont(bold);
    lambda_ = new QLabel(this);
    lambda_->setToolTip(tr("Barycenter weight λ_k ∝ 1/η_k, normalised over the enabled sources"));
    lambda_->setMinimumWidth(70);
    lambda_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    remove_ = new QToolButton(this);
    remove_->setText(QStringLiteral("✕"));
    remove_->setAutoRaise(true);
    remove_->setToolTip(tr("Remove this generator from the project"));
    grid->addWidget(enabled_, 0, 0);
    grid->addWidget(name_, 0, 1);
    grid->addWidget(lambda_, 0, 2);
    grid->addWidget(remove_, 0, 3);

    arch_ = new QLabel(this);
    arch_->setWordWrap(true);
    QFont small = arch_->font();
    small.setPointSizeF(small.pointSizeF() - 1);
    arch_->setFont(small);
    arch_->setForegroundRole(QPalette::PlaceholderText);
    grid->addWidget(arch_, 1, 1, 1, 3);

    auto* radiusRow = new QHBoxLayout;
    auto* eta = new QLabel(QStringLiteral("η"), this);
    eta->setToolTip(tr("Trust radius η_k: the barycenter stays within W1 distance η_k of this model. "
                       "Smaller radius = more trust = larger weight."));
    slider_ = new QSlider(Qt::Horizontal, this);
    slider_->setRange(0, radius_slider::kSteps);
    slider_->setTickPosition(QSlider::TicksBelow);
    slider_->setTickInterval(radius_slider::kSteps / radius_slider::kDecades);
    slider_->setPageStep(radius_slider::kSteps / (2 * radius_slider::kDecades));  // a click on the groove: ×√10
    slider_->setToolTip(eta->toolTip() + tr("\nSlider: 0.01 to 100 (one tick per factor 10); type any value from 0.001 to 1000 in the box."));
    spin_ = new QDoubleSpinBox(this);
    spin_->setDecimals(3);
    spin_->setRange(1e-3, 1e3);
    spin_->setStepType(QAbstractSpinBox::AdaptiveDecimalStepType);
    spin_->setKeyboardTracking(false);  // commit on Enter / focus out, not per keystroke
    spin_->setMinimumWidth(80);
    radiusRow->addWidget(eta);
    radiusRow->addWidget(slider_, 1);
    radiusRow->addWidget(spin_);
    grid->addLayout(radiusRow, 2, 1, 1, 3);
    // Decade labels under the slider's ticks.
    auto* scale = new QHBoxLayout;
    scale->setContentsMargins(eta->sizeHint().width() + 6, 0, spin_->sizeHint().width() + 6, 0);
    const QStringList decades{"0.01", "0.1", "1", "10", "100"};
    for (int i = 0; i < decades.size(); ++i) {
        auto* label = new QLabel(decades[i], this);
        QFont f = label->font();
        f.setPointSizeF(f.pointSizeF() - 1.5);
        label->setFont(f);
        label->setForegroundRole(QPalette::PlaceholderText);
        if (i > 0) scale->addStretch(1);  // equal gaps: the labels sit near the ticks
        scale->addWidget(label);
    }
    grid->addLayout(scale, 3, 1, 1, 3);

    lambdaBar_ = new QProgressBar(this);
    lambdaBar_->setRange(0, 1000);
    lambdaBar_->setTextVisible(false);
    lambdaBar_->setFixedHeight(4);
    grid->addWidget(lambdaBar_, 4, 1, 1, 3);

    warning_ = new QLabel(this);
    warning_->setWordWrap(true);
    warning_->setVisible(false);
    warning_->setStyleSheet(QStringLiteral("color: #d9534f;"));
    grid->addWidget(warning_, 5, 1, 1, 3);
    grid->setColumnStretch(1, 1);

    // A drag is one undo step: every value of one drag carries the same merge key.
    connect(slider_, &QSlider::sliderPressed, this, [this] { dragKey_ = nextDragKey_++; });
    connect(slider_, &QSlider::sliderReleased, this, [this] { dragKey_ = 0; });
    connect(slider_, &QSlider::valueChanged, this, [this](int position) {
        project_->setRadius(id_, radius_slider::fromPosition(position), slider_->isSliderDown() ? dragKey_ : 0);
    });
    connect(spin_, &QDoubleSpinBox::valueChanged, this, [this](double value) { project_->setRadius(id_, value); });
    connect(name_, &QLineEdit::editingFinished, this, [this] {
        const SourceModel* s = project_->source(id_);
        if (!s) return;
        project_->renameSource(id_, name_->text());  // refused when empty or another source's name
        if (const SourceModel* now = project_->source(id_)) name_->setText(now->name);
    });
    connect(enabled_, &QCheckBox::toggled, this, [this](bool on) { project_->setSourceEnabled(id_, on); });
    connect(remove_, &QToolButton::clicked, this, [this] {
        // Deferred: removing destroys this card.
        QMetaObject::invokeMethod(project_, [p = project_, id = id_] { p->removeSource(id); }, Qt::QueuedConnection);
    });
    refresh();
}

void SourceCard::refresh() {
    const SourceModel* s = project_->source(id_);
    if (!s) return;
    if (!name_->hasFocus()) name_->setText(s->name);
    name_->setToolTip(tr("%1\nClick to rename").arg(s->path));
    const QSignalBlocker b1(slider_), b2(spin_), b3(enabled_);
    if (!slider_->isSliderDown()) slider_->setValue(radius_slider::toPosition(s->radius));
    spin_->setValue(s->radius);
    enabled_->setChecked(s->enabled);
    slider_->setEnabled(s->enabled);
    spin_->setEnabled(s->enabled);
}

void SourceCard::setWeight(double lambda, double initial) {
    const bool live = !std::isnan(initial);
    lambda_->setText(live ? QStringLiteral("λ = %1 (live)").arg(lambda, 0, 'f', 3) : QStringLiteral("λ = %1").arg(lambda, 0, 'f', 3));
    lambda_->setToolTip(live ? tr("The running barycenter's multiplier λ_k (started at %1). In constrained mode λ_k rises while "
                                  "Ŵ_k > η_k and falls to 0 once the constraint holds: multipliers need not sum to 1.")
                                   .arg(initial, 0, 'f', 3)
                             : tr("Barycenter weight λ_k ∝ 1/η_k, normalised over the enabled sources"));
    lambdaBar_->setValue(int(std::lround(std::min(lambda, 1.0) * 1000)));
}

QString SourceCard::weightText() const { return lambda_->text(); }
QString SourceCard::infoText() const { return arch_->text(); }
QString SourceCard::warningText() const { return warning_->isHidden() ? QString() : warning_->text(); }

void SourceCard::setInfo(const ModelFileInfo& info) {
    QString text = info.architecture;
    if (info.meta.contains("step")) text += tr(" · step %1").arg(info.meta.value("step").toVariant().toLongLong());
    if (info.fileSize > 0) text += QStringLiteral(" · %1 KiB").arg(info.fileSize / 1024);
    const SourceModel* source = project_->source(id_);
    const QString path = source ? source->path : QString();
    arch_->setText(text.isEmpty() ? QFileInfo(path).fileName() : text);
    arch_->setToolTip(path);
}

void SourceCard::setWarning(const QString& text) {
    warning_->setText(text);
    warning_->setVisible(!text.isEmpty());
}

// ----------------------------------------------------------------------------------------- panel

SourcesPanel::SourcesPanel(Project* project, const ModelFileCache* files, QWidget* parent)
    : QWidget(parent), project_(project), files_(files) {
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(6, 6, 6, 6);

    auto* addRow = new QHBoxLayout;
    auto* add = new QPushButton(tr("Add generators…"), this);
    add->setToolTip(tr("Add pre-trained generator files (.coalesce, packed ternary .ctern, safetensors, TorchScript); "
                       "you can also drop files or folders on the window"));
    addRow->addWidget(add);
    addRow->addStretch(1);
    outer->addLayout(addRow);
    connect(add, &QPushButton::clicked, this, &SourcesPanel::addRequested);

    auto* modes = new QGroupBox(tr("Barycenter"), this);
    auto* modesLayout = new QGridLayout(modes);
    modesLayout->setVerticalSpacing(2);
    fixed_ = new QRadioButton(tr("Fixed weights"), modes);
    fixed_->setToolTip(tr("λ_k ∝ 1/η_k, constant during training"));
    constrained_ = new QRadioButton(tr("Constrained"), modes);
    constrained_->setToolTip(tr("Adaptive coalescence: the weights λ_k start at 1/η_k and follow the dual "
                                "ascent λ_k ← max(0, λ_k + ρ(Ŵ_k − η_k)) so each Ŵ_k stays within its radius"));
    joint_ = new QRadioButton(tr("Joint"), modes);
    joint_->setToolTip(tr("All K critics at once"));
    recursive_ = new QRadioButton(tr("Recursive"), modes);
    recursive_->setToolTip(tr("Displacement interpolation: merge two sources, then the result with the next, "
                              "in the order below; every intermediate barycenter is saved"));
    mixture_ = new QRadioButton(tr("Mixture"), modes);
    mixture_->setToolTip(tr("One critic on the λ-weighted mixture of the sources: the barycenter that keeps every "
                            "source's modes. Best where the sources together cover your data (the coverage check "
                            "below says so; the η button then chooses it). Joint mode's exact W1 barycenter collapses "
                            "onto the source with the larger λ."));
    auto* weightGroup = new QButtonGroup(modes);
    weightGroup->addButton(fixed_);
    weightGroup->addButton(constrained_);
    auto* combineGroup = new QButtonGroup(modes);
    combineGroup->addButton(joint_);
    combineGroup->addButton(recursive_);
    combineGroup->addButton(mixture_);
    modesLayout->addWidget(new QLabel(tr("Weighting"), modes), 0, 0);
    modesLayout->addWidget(fixed_, 0, 1);
    modesLayout->addWidget(constrained_, 0, 2);
    modesLayout->addWidget(new QLabel(tr("Sources"), modes), 1, 0);
    modesLayout->addWidget(joint_, 1, 1);
    modesLayout->addWidget(recursive_, 1, 2);
    modesLayout->addWidget(mixture_, 1, 3);
    modesLayout->setColumnStretch(4, 1);
    modeHint_ = new QLabel(tr("Recursive and mixture use fixed weights: the constraint needs a critic per source (a "
                              "radius has no meaning for an intermediate barycenter or a mixture), so it applies in joint "
                              "mode only."),
                           modes);
    modeHint_->setWordWrap(true);
    modeHint_->setForegroundRole(QPalette::PlaceholderText);
    modesLayout->addWidget(modeHint_, 2, 0, 1, 5);
    estimate_ = new QPushButton(tr("η from local data"), modes);
    estimate_->setObjectName("estimateRadii");
    estimate_->setToolTip(tr("Set each radius η_k to the exact W1 distance between the n local samples and samples of "
                             "generator k, in the feature space behind FID (bootstrap uncertainty in the log). "
                             "The nearer a generator is to your data, the more it is trusted."));
    auto* space = new QComboBox(modes);
    space->setObjectName("estimateSpace");
    space->addItem(tr("features"), "features");
    space->addItem(tr("pixels"), "pixels");
    space->setToolTip(tr("Where distances are measured: the classifier features behind FID/KID, or raw pixels"));
    modesLayout->addWidget(new QLabel(tr("Radii"), modes), 3, 0);
    modesLayout->addWidget(estimate_, 3, 1);
    modesLayout->addWidget(space, 3, 2);
    connect(estimate_, &QPushButton::clicked, this, [this, space] { Q_EMIT estimateRadiiRequested(space->currentData().toString()); });
    coverage_ = new QLabel(modes);
    coverage_->setObjectName("coverageVerdict");
    coverage_->setWordWrap(true);
    coverage_->setVisible(false);
    modesLayout->addWidget(coverage_, 4, 0, 1, 5);
    outer->addWidget(modes);
    connect(fixed_, &QRadioButton::toggled, this, [this](bool on) {
        if (on) project_->setWeightMode(WeightMode::Fixed);
    });
    connect(constrained_, &QRadioButton::toggled, this, [this](bool on) {
        if (on) project_->setWeightMode(WeightMode::Constrained);
    });
    connect(joint_, &QRadioButton::toggled, this, [this](bool on) {
        if (on) project_->setCombineMode(CombineMode::Joint);
    });
    connect(recursive_, &QRadioButton::toggled, this, [this](bool on) {
        if (on) project_->setCombineMode(CombineMode::Recursive);
    });
    connect(mixture_, &QRadioButton::toggled, this, [this](bool on) {
        if (on) project_->setCombineMode(CombineMode::Mixture);
    });

    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* cardsHost = new QWidget(scroll);
    cardsLayout_ = new QVBoxLayout(cardsHost);
    cardsLayout_->setContentsMargins(0, 0, 0, 0);
    cardsLayout_->setSpacing(6);
    emptyHint_ = new QLabel(tr("No generators yet.\n\nClick “Add generators…” or drop .coalesce files here.\n"
                               "No pre-trained models? Run the “pretrain” stage on source classes first."),
                            cardsHost);
    emptyHint_->setAlignment(Qt::AlignCenter);
    emptyHint_->setWordWrap(true);
    emptyHint_->setEnabled(false);
    cardsLayout_->addWidget(emptyHint_);
    cardsLayout_->addStretch(1);
    scroll->setWidget(cardsHost);
    outer->addWidget(scroll, 1);

    orderBox_ = new QGroupBox(tr("Merge order (recursive)"), this);
    auto* orderLayout = new QGridLayout(orderBox_);
    order_ = new QListWidget(orderBox_);
    order_->setMaximumHeight(110);
    auto* up = new QToolButton(orderBox_);
    up->setArrowType(Qt::UpArrow);
    up->setToolTip(tr("Merge earlier"));
    auto* down = new QToolButton(orderBox_);
    down->setArrowType(Qt::DownArrow);
    down->setToolTip(tr("Merge later"));
    auto* byWeight = new QToolButton(orderBox_);
    byWeight->setText(tr("By weight"));
    byWeight->setToolTip(tr("Default order: descending λ"));
    orderHint_ = new QLabel(orderBox_);
    orderHint_->setWordWrap(true);
    orderHint_->setForegroundRole(QPalette::PlaceholderText);
    orderLayout->addWidget(order_, 0, 0, 3, 1);
    orderLayout->addWidget(up, 0, 1);
    orderLayout->addWidget(down, 1, 1);
    orderLayout->addWidget(byWeight, 2, 1);
    orderLayout->addWidget(orderHint_, 3, 0, 1, 2);
    outer->addWidget(orderBox_);
    auto move = [this](int delta) {
        if (auto* item = order_->currentItem()) {
            const QString id = item->data(Qt::UserRole).toString();
            project_->moveInMergeOrder(id, delta);
            for (int i = 0; i < order_->count(); ++i)
                if (order_->item(i)->data(Qt::UserRole).toString() == id) order_->setCurrentRow(i);
        }
    };
    connect(up, &QToolButton::clicked, this, [move] { move(-1); });
    connect(down, &QToolButton::clicked, this, [move] { move(+1); });
    connect(byWeight, &QToolButton::clicked, project_, &Project::resetMergeOrder);

    connect(project_, &Project::sourcesChanged, this, &SourcesPanel::rebuildCards);
    connect(project_, &Project::reset, this, &SourcesPanel::rebuildCards);
    connect(project_, &Project::sourceChanged, this, [this](const QString& id) {
        if (SourceCard* c = cards_.value(id)) c->refresh();
        refreshOrder();
    });
    connect(project_, &Project::weightsChanged, this, &SourcesPanel::refreshWeights);
    connect(project_, &Project::modesChanged, this, &SourcesPanel::refreshModes);
    connect(project_, &Project::mergeOrderChanged, this, &SourcesPanel::refreshOrder);
    connect(project_, &Project::reset, this, &SourcesPanel::refreshModes);
    rebuildCards();
    refreshModes();
}

void SourcesPanel::setEstimatingRadii(bool running) {
    estimate_->setEnabled(!running);
    estimate_->setText(running ? tr("Estimating η…") : tr("η from local data"));
}

void SourcesPanel::setCoverage(const QString& regime, double blendEta, double nearestEta, const QString& nearestName,
                               const QString& chosenMode, const QString& note) {
    // The same three readings as the engine's log line (CoverageCheck::describe), for a user deciding what
    // to run: README, "Which regime is my data in?".
    const QString w1 = tr("W1 %1 to the blend, %2 to %3").arg(blendEta, 0, 'g', 3).arg(nearestEta, 0, 'g', 3).arg(nearestName);
    QString text;
    if (regime == QLatin1String("blend"))
        text = tr("Coverage: the sources together are closer to your samples than any one of them (%1). "
                  "This is the case coalescence is made for.").arg(w1);
    else if (regime == QLatin1String("nearest"))
        text = tr("Coverage: no blend of the sources is closer to your samples than %1 alone (%2): your data holds "
                  "what no source has. Coalescence can at best fall back to %1; experiments with radius power "
                  "\"auto\" do that by themselves.").arg(nearestName, w1);
    else if (regime == QLatin1String("unclear"))
        text = tr("Coverage: a blend of the sources is about as close to your samples as %1 alone (%2; the "
                  "bootstrap interval includes 0).").arg(nearestName, w1);
    coverageText_ = text;
    coverageChosenMode_ = chosenMode;
    coverageNote_ = note;
    refreshCoverageText();
    coverage_->setToolTip(tr("Exact W1 between the local samples and the λ ∝ 1/η mixture of the sources' samples, "
                             "against the nearest source alone, with a bootstrap over both"));
}

void SourcesPanel::refreshCoverageText() {
    // The "set by this check" sentence stays only while the project still has that combination (an undo
    // or another choice removes it).
    QString text = coverageText_;
    if (!text.isEmpty() && !coverageChosenMode_.isEmpty() && combineModeName(project_->combineMode()) == coverageChosenMode_)
        text += tr(" Sources set to %1 by this check (Edit ▸ Undo keeps the old choice).").arg(coverageChosenMode_);
    if (!text.isEmpty() && !coverageNote_.isEmpty()) text += QLatin1Char(' ') + coverageNote_;
    coverage_->setText(text);
    coverage_->setVisible(!text.isEmpty());
}

SourceCard* SourcesPanel::card(const QString& sourceId) const { return cards_.value(sourceId); }

QList<SourceCard*> SourcesPanel::cards() const {
    QList<SourceCard*> out;
    for (const auto& s : project_->sources())
        if (SourceCard* c = cards_.value(s.id)) out << c;
    return out;
}

ModelFileInfo SourcesPanel::info(const SourceModel& source) const { return sourceFileInfo(source, *files_); }

void SourcesPanel::rebuildCards() {
    QHash<QString, SourceCard*> keep;
    for (auto it = cards_.begin(); it != cards_.end(); ++it) {
        if (project_->sourceIndex(it.key()) >= 0)
            keep.insert(it.key(), it.value());
        else
            it.value()->deleteLater();
    }
    cards_ = keep;
    for (const auto& s : project_->sources()) {
        SourceCard* c = cards_.value(s.id);
        if (!c) {
            c = new SourceCard(project_, s.id, cardsLayout_->parentWidget());
            cards_.insert(s.id, c);
        }
        cardsLayout_->removeWidget(c);
    }
    // Re-insert in project order, before the stretch.
    int row = 1;
    for (const auto& s : project_->sources()) {
        SourceCard* c = cards_.value(s.id);
        cardsLayout_->insertWidget(row++, c);
        c->refresh();
        c->setInfo(info(s));
    }
    emptyHint_->setVisible(project_->sources().isEmpty());
    refreshWeights();
    refreshOrder();
    updateCompatibility();
}

void SourcesPanel::refreshWeights() {
    const QVector<double> w = project_->weights();
    const auto& sources = project_->sources();
    int enabled = 0;
    for (int i = 0; i < sources.size(); ++i) {
        SourceCard* c = cards_.value(sources[i].id);
        const int k = sources[i].enabled ? enabled++ : -1;
        if (!c) continue;
        if (k >= 0 && k < live_.size())
            c->setWeight(live_[k], w[i]);
        else
            c->setWeight(w[i]);
    }
}

void SourcesPanel::setLiveWeights(const QVector<double>& lambdas) {
    if (lambdas == live_) return;
    live_ = lambdas;
    refreshWeights();
}

void SourcesPanel::refreshModes() {
    const QSignalBlocker b1(fixed_), b2(constrained_), b3(joint_), b4(recursive_), b5(mixture_);
    fixed_->setChecked(project_->weightMode() == WeightMode::Fixed);
    constrained_->setChecked(project_->weightMode() == WeightMode::Constrained);
    joint_->setChecked(project_->combineMode() == CombineMode::Joint);
    recursive_->setChecked(project_->combineMode() == CombineMode::Recursive);
    mixture_->setChecked(project_->combineMode() == CombineMode::Mixture);
    orderBox_->setVisible(project_->combineMode() == CombineMode::Recursive);
    modeHint_->setVisible(project_->combineMode() != CombineMode::Joint && project_->weightMode() == WeightMode::Constrained);
    refreshCoverageText();
}

void SourcesPanel::refreshOrder() {
    const QString current = order_->currentItem() ? order_->currentItem()->data(Qt::UserRole).toString() : QString();
    order_->clear();
    int n = 0;
    for (const QString& id : project_->mergeOrder()) {
        const SourceModel* s = project_->source(id);
        if (!s) continue;
        auto* item = new QListWidgetItem(QStringLiteral("%1. %2   (λ = %3)").arg(++n).arg(s->name).arg(project_->weightOf(id), 0, 'f', 3), order_);
        item->setData(Qt::UserRole, id);
        if (!s->enabled) item->setForeground(palette().color(QPalette::Disabled, QPalette::Text));
        if (id == current) order_->setCurrentItem(item);
    }
    // The engine merges in descending λ (stable sort); a custom order can only decide among equal
    // weights. Say so instead of pretending otherwise.
    QStringList byWeight;
    {
        const QVector<double> w = project_->weights();
        QVector<int> idx(w.size());
        std::iota(idx.begin(), idx.end(), 0);
        std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return w[a] > w[b]; });
        for (int i : idx) byWeight << project_->sources()[i].id;
    }
    if (!project_->hasCustomMergeOrder())
        orderHint_->setText(tr("Descending weight (default)."));
    else if (project_->mergeOrder() == byWeight)
        orderHint_->setText(tr("Custom order (same as by weight)."));
    else
        orderHint_->setText(tr("Custom order. Note: this engine build merges in descending λ; "
                               "the order here only decides among equal weights."));
}

void SourcesPanel::updateCompatibility() {
    const QMap<QString, QString> problems = sourceFileProblems(project_->sources(), *files_);
    for (const auto& s : project_->sources())
        if (SourceCard* c = cards_.value(s.id)) c->setWarning(problems.value(s.id));
}
