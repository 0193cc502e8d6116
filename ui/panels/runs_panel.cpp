#include "panels/runs_panel.h"

#include <QDesktopServices>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QFileInfo>
#include <QMenu>
#include <QPushButton>
#include <QTreeWidget>
#include <QUrl>
#include <QVBoxLayout>

#include "runs/run_store.h"

namespace {
QIcon swatch(const QColor& c) {
    QPixmap p(12, 12);
    p.fill(c);
    return QIcon(p);
}
}  // namespace

RunsPanel::RunsPanel(RunStore* store, QWidget* parent) : QWidget(parent), store_(store) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    tree_ = new QTreeWidget(this);
    tree_->setColumnCount(3);
    tree_->setHeaderLabels({tr("Run"), tr("Kind"), tr("Status")});
    tree_->setRootIsDecorated(false);
    tree_->setUniformRowHeights(true);
    tree_->header()->setStretchLastSection(false);
    tree_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    tree_->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    tree_->header()->setSectionResizeMode(2, QHeaderView::ResizeToContents);
    tree_->setContextMenuPolicy(Qt::CustomContextMenu);
    tree_->setToolTip(tr("Tick to overlay a run in the curves; double-click to see its samples"));
    layout->addWidget(tree_, 1);
    auto* row = new QHBoxLayout;
    auto* open = new QPushButton(tr("Open run…"), this);
    open->setToolTip(tr("Load a run directory (metrics.csv, samples/) to compare with"));
    auto* remove = new QPushButton(tr("Remove"), this);
    remove->setToolTip(tr("Remove the selected finished run from the window (its files stay on disk)"));
    row->addWidget(open);
    row->addWidget(remove);
    row->addStretch(1);
    layout->addLayout(row);

    connect(open, &QPushButton::clicked, this, &RunsPanel::openRunRequested);
    connect(remove, &QPushButton::clicked, this, [this] {
        const int id = selectedRun();
        const RunData* r = store_->run(id);
        if (!r || r->status == "running" || r->status == "paused") return;
        const QString dir = r->dir;
        store_->removeRun(id);
        if (!dir.isEmpty()) Q_EMIT runRemovedByUser(dir);
    });
    connect(tree_, &QTreeWidget::itemChanged, this, [this](QTreeWidgetItem* item, int column) {
        if (updating_ || column != 0) return;
        store_->setVisible(item->data(0, Qt::UserRole).toInt(), item->checkState(0) == Qt::Checked);
    });
    connect(tree_, &QTreeWidget::itemDoubleClicked, this, [this](QTreeWidgetItem* item) {
        Q_EMIT showSamplesRequested(item->data(0, Qt::UserRole).toInt());
    });
    connect(tree_, &QTreeWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        QTreeWidgetItem* item = tree_->itemAt(pos);
        if (!item) return;
        const int id = item->data(0, Qt::UserRole).toInt();
        const RunData* r = store_->run(id);
        if (!r) return;
        QMenu menu(this);
        menu.addAction(tr("Show samples"), this, [this, id] { Q_EMIT showSamplesRequested(id); });
        if (!r->dir.isEmpty())
            menu.addAction(tr("Open folder"), this, [dir = r->dir] { QDesktopServices::openUrl(QUrl::fromLocalFile(dir)); });
        // A finished run that made a generator (pretrain, barycenter, adapt, ...) can be coalesced in one step.
        const QString generator = r->dir + "/generator.coalesce";
        if (!r->dir.isEmpty() && r->status != "running" && r->status != "paused" && QFileInfo::exists(generator))
            menu.addAction(tr("Use as source"), this, [this, generator] { Q_EMIT useAsSourceRequested(generator); });
        menu.exec(tree_->viewport()->mapToGlobal(pos));
    });
    connect(store_, &RunStore::runAdded, this, &RunsPanel::onRunAdded);
    connect(store_, &RunStore::runChanged, this, &RunsPanel::onRunChanged);
    connect(store_, &RunStore::runRemoved, this, &RunsPanel::onRunRemoved);
    for (int id : store_->ids()) onRunAdded(id);
}

int RunsPanel::selectedRun() const {
    return tree_->currentItem() ? tree_->currentItem()->data(0, Qt::UserRole).toInt() : -1;
}

QTreeWidgetItem* RunsPanel::itemFor(int id) const {
    for (int i = 0; i < tree_->topLevelItemCount(); ++i)
        if (tree_->topLevelItem(i)->data(0, Qt::UserRole).toInt() == id) return tree_->topLevelItem(i);
    return nullptr;
}

void RunsPanel::onRunAdded(int id) {
    updating_ = true;
    auto* item = new QTreeWidgetItem(tree_);
    item->setData(0, Qt::UserRole, id);
    item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
    updating_ = false;
    onRunChanged(id);
}

void RunsPanel::onRunChanged(int id) {
    QTreeWidgetItem* item = itemFor(id);
    const RunData* r = store_->run(id);
    if (!item || !r) return;
    updating_ = true;
    item->setIcon(0, swatch(r->color));
    item->setText(0, r->label);
    item->setToolTip(0, r->dir);
    item->setText(1, r->kind);
    item->setText(2, r->status);
    item->setCheckState(0, r->visible ? Qt::Checked : Qt::Unchecked);
    // Only the statuses that need attention are coloured; the others follow the theme's text colour.
    if (r->status == "failed")
        item->setForeground(2, QColor(0xd9, 0x53, 0x4f));
    else if (r->status == "running")
        item->setForeground(2, QColor(0x59, 0xa1, 0x4f));
    else
        item->setData(2, Qt::ForegroundRole, QVariant());
    updating_ = false;
}

void RunsPanel::onRunRemoved(int id) { delete itemFor(id); }
