import { memo } from 'react';
import { sparklinePoints } from '../lib/sparkline';

export const Sparkline = memo(function Sparkline({ values, width = 72, height = 18, color = 'var(--accent)' }: { values: readonly number[]; width?: number; height?: number; color?: string }): React.JSX.Element {
  const points = sparklinePoints(values, width, height);
  return (
    <svg className="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true">
      {points && <polyline points={points} fill="none" stroke={color} strokeWidth="1.3" strokeLinejoin="round" strokeLinecap="round" />}
    </svg>
  );
});
