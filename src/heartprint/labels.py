"""heartprint's label numbers (DESIGN.md, fixed conventions). Datasets with other
conventions are mapped to these at load time."""

BACKGROUND = 0
LV_CAVITY = 1
LV_MYOCARDIUM = 2
RV_CAVITY = 3

LABEL_NAMES = {BACKGROUND: "background", LV_CAVITY: "LV cavity", LV_MYOCARDIUM: "LV myocardium", RV_CAVITY: "RV cavity"}
