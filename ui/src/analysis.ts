// The analysis windows, each a module registering its entries in `app` (core.ts): importing
// them here is all main.ts needs to know of them.
import './artifacts';
import './notes';
import './timeline';
import './pivots';
import './stats';
import './proctree';
