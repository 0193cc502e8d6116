// Anchor translation unit that builds engine_pch.h once for all engine modules.
