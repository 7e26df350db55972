"""Reports: each turns a GateReport (and results) into text; none recomputes a figure."""
