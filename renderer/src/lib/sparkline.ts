/** SVG polyline points for a sparkline of `values` in a w×h box (1px inset); '' with fewer than 2 values. */
export function sparklinePoints(values: readonly number[], w: number, h: number): string {
  const vs = values.filter((v) => Number.isFinite(v));
  if (vs.length < 2) return '';
  let min = Infinity;
  let max = -Infinity;
  for (const v of vs) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const span = max - min || 1;
  const dx = (w - 2) / (vs.length - 1);
  return vs
    .map((v, i) => {
      const x = 1 + i * dx;
      const y = max === min ? h / 2 : 1 + (h - 2) * (1 - (v - min) / span);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}
