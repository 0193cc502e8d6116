#include "app/about_dialog.h"

#include <QApplication>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSysInfo>
#include <QVBoxLayout>

#include "app/engine_info.h"
#include "app/icons.h"
#include "plots/qcustomplot_include.h"

AboutDialog::AboutDialog(QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("About Coalesce"));
    auto* layout = new QVBoxLayout(this);
    auto* top = new QHBoxLayout;
    auto* logo = new QLabel(this);
    logo->setPixmap(icons::appIcon().pixmap(72, 72));
    logo->setAlignment(Qt::AlignTop);
    top->addWidget(logo);
    auto* text = new QLabel(this);
    text->setTextFormat(Qt::RichText);
    text->setWordWrap(true);
    text->setOpenExternalLinks(true);
    text->setText(tr("<h2>Coalesce %1</h2>"
                     "<p>Continual learning of generative models with limited data: coalesce pre-trained "
                     "generators into their Wasserstein-1 barycenter, adapt it to a few local samples, "
                     "and ternarize it.</p>"
                     "<p>Method: M. Dedeoglu, S. Lin, Z. Zhang, J. Zhang, <i>Continual Learning of Generative "
                     "Models with Limited Data: From Wasserstein-1 Barycenter to Adaptive Coalescence</i>, "
                     "IEEE TNNLS 2023 (<a href=\"https://arxiv.org/abs/2101.09225\">arXiv:2101.09225</a>).</p>")
                      .arg(engineVersion()));
    top->addWidget(text, 1);
    layout->addLayout(top);

    versions_ = tr("Qt %1 (built with %2)\nQCustomPlot %3\n%4\nCUDA: %5\n%6")
                    .arg(QString::fromLatin1(qVersion()), QStringLiteral(QT_VERSION_STR), QStringLiteral(QCUSTOMPLOT_VERSION_STR),
                         engineRuntimeDescription(), cudaAvailable() ? tr("available") : tr("not available"),
                         QSysInfo::prettyProductName());
    const QStringList kinds = engineJobKinds();
    auto* versions = new QLabel(versions_ + tr("\nJob kinds: %1").arg(kinds.isEmpty() ? tr("none") : kinds.join(", ")), this);
    versions->setTextInteractionFlags(Qt::TextSelectableByMouse);
    versions->setStyleSheet(QStringLiteral("QLabel { padding: 8px; border-radius: 4px; background: palette(base); }"));
    versions->setWordWrap(true);
    layout->addWidget(versions);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    auto* aboutQt = buttons->addButton(tr("About Qt"), QDialogButtonBox::HelpRole);
    connect(aboutQt, &QPushButton::clicked, qApp, &QApplication::aboutQt);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    setMinimumWidth(520);
}
