// Include QCustomPlot through this header. QCustomPlot 2.1's header uses Qt's `signals`, `slots`,
// `emit` and `foreach` keywords, which QT_NO_KEYWORDS (on for the UI, because of torch) removes;
// they are defined just for the include and removed again.
#pragma once
#ifdef QT_NO_KEYWORDS
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef emit
#undef foreach
#else
#include <qcustomplot.h>
#endif
