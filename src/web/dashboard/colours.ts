/** The charts' colours, shared with their legends in words (no recharts here, so the legends show before the chart chunk loads). */

/** A colour per connection status: green when fine, blues while setting up, amber to red as it needs more help, greys when gone. */
const STATUS_COLOURS: Record<string, string> = {
  active: '#1e7d3a', pending: '#1f5fbf', init: '#4f86d6', pre_init: '#7c9fd4', degraded: '#b07800',
  reconnect_required: '#d55e00', failed: '#b3261e', unlinked: '#6b7280', deleted: '#374151',
};
/** Failure reasons: a colour-blind-safe set (Okabe and Ito, darkened where light), one per reason in a chart. */
const REASON_COLOURS = ['#b3261e', '#0072b2', '#d55e00', '#7b3294', '#009e73', '#cc79a7', '#b07800', '#56b4e9', '#374151'];

export const statusColour = (status: string) => STATUS_COLOURS[status] ?? '#6b7280';
export const reasonColour = (index: number) => REASON_COLOURS[index % REASON_COLOURS.length]!;
/** Jobs per hour: blue and vermillion, told apart without red against green. */
export const SUCCEEDED_COLOUR = '#1f5fbf';
export const FAILED_COLOUR = '#d55e00';
