/**
 * The overview's charts (recharts, SVG; loaded on their own so the rest of the dashboard stays
 * small): connections by status, jobs per hour, failed jobs by reason. Each has named axes with
 * units, a tooltip, and a legend in words beside the colours, so no one needs the colours to read it.
 */
import { Bar, BarChart, CartesianGrid, Cell, LabelList, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import { FAILED_COLOUR, SUCCEEDED_COLOUR } from './colours';

const AXIS = { fontSize: 12, fill: '#5b6470' };
const labelWidth = (labels: string[]) => Math.min(170, 16 + 7.2 * Math.max(4, ...labels.map((l) => l.length)));

interface Bar1 { key: string; label: string; value: number; colour: string }

/** Horizontal bars, one per category, each its own colour and with its count written at its end. */
export function CategoryBars({ title, data, unit }: { title: string; data: Bar1[]; unit: string }) {
  const height = 50 + 34 * data.length;
  return (
    <div className="chart" role="figure" aria-label={`${title}: ${data.map((d) => `${d.label} ${d.value}`).join(', ')}`}>
      <BarChart layout="vertical" data={data} responsive style={{ width: '100%', height }} margin={{ top: 4, right: 36, bottom: 26, left: 4 }}>
        <CartesianGrid horizontal={false} strokeDasharray="3 3" />
        <XAxis type="number" allowDecimals={false} tick={AXIS} label={{ value: unit, position: 'insideBottom', offset: -16, ...AXIS }} />
        <YAxis type="category" dataKey="label" width={labelWidth(data.map((d) => d.label))} tick={AXIS} interval={0} />
        <Tooltip formatter={(v) => [`${v} ${unit.toLowerCase()}`, 'Count']} cursor={{ fill: 'rgba(0,0,0,0.05)' }} />
        <Bar dataKey="value" name={unit} isAnimationActive={false}>
          {data.map((d) => <Cell key={d.key} fill={d.colour} />)}
          <LabelList dataKey="value" position="right" style={{ fontSize: 12, fill: '#1b1f24' }} />
        </Bar>
      </BarChart>
    </div>
  );
}

/** `label`: the hour on the axis; `title`: its day and hour, in the tooltip. */
export interface HourBar { label: string; title: string; hour: string; succeeded: number; failed: number }

/** Jobs per hour, stacked: succeeded in blue, failed in vermillion (told apart without red against green). */
export function JobsPerHour({ data, zone }: { data: HourBar[]; zone: string }) {
  return (
    <div className="chart" role="figure" aria-label={`Jobs per hour: ${data.filter((h) => h.succeeded + h.failed > 0).map((h) => `${h.label}: ${h.succeeded} succeeded, ${h.failed} failed`).join('; ') || 'none'}`}>
      <BarChart data={data} responsive style={{ width: '100%', height: 270 }} margin={{ top: 8, right: 8, bottom: 28, left: 4 }}>
        <CartesianGrid vertical={false} strokeDasharray="3 3" />
        <XAxis dataKey="label" tick={AXIS} minTickGap={12} label={{ value: `Hour (${zone})`, position: 'insideBottom', offset: -18, ...AXIS }} />
        <YAxis allowDecimals={false} width={44} tick={AXIS} label={{ value: 'Jobs', angle: -90, position: 'insideLeft', offset: 12, ...AXIS }} />
        <Tooltip labelFormatter={(l, p) => (p[0]?.payload as HourBar | undefined)?.title ?? String(l)} itemSorter={(i) => (i.dataKey === 'succeeded' ? 0 : 1)} cursor={{ fill: 'rgba(0,0,0,0.05)' }} />
        <Legend verticalAlign="top" height={28} itemSorter={null} wrapperStyle={{ fontSize: 13 }} />
        <Bar dataKey="succeeded" name="Succeeded" stackId="jobs" fill={SUCCEEDED_COLOUR} isAnimationActive={false} />
        <Bar dataKey="failed" name="Failed" stackId="jobs" fill={FAILED_COLOUR} isAnimationActive={false} />
      </BarChart>
    </div>
  );
}
