// Facts about the engine for the About dialog and the status bar, behind a torch-free header.
#pragma once
#include <QString>
#include <QStringList>

QString engineVersion();             // Coalesce version
QString engineRuntimeDescription();  // e.g. "LibTorch 1.13.0, cpu, 2 threads"
bool cudaAvailable();
QStringList engineJobKinds();
