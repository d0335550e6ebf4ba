"""The scorecard, one way: snapshot (plain dataclasses, ``snapshot``) built from the figure
services (``build``) → print charts (``charts``, ``chart_images``) → HTML (``html``) → PDF
(``pdf``, the only WeasyPrint import) → stored (``issuing``) → delivered (``delivery``).
Each step takes the previous one's output; ``batch`` issues a month for many partnerships."""
