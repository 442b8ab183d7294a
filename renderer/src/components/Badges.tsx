import type { PathKind, TrustState } from '../../../shared/contract';
import { PATH_LABEL, TRUST_LABEL } from '../lib/format';

export function PathBadge({ path, testId }: { path: PathKind; testId?: string }): React.JSX.Element {
  return (
    <span className={`badge path-${path}`} data-testid={testId} data-path={path}>
      {PATH_LABEL[path]}
    </span>
  );
}

export function TrustBadge({ trust }: { trust: TrustState }): React.JSX.Element {
  if (trust === 'none') return <span className="muted">—</span>;
  return <span className={`badge nodot trust-${trust}`}>{TRUST_LABEL[trust]}</span>;
}

export function Tags({ tags, kind = 'tag' }: { tags: readonly string[]; kind?: 'tag' | 'group' }): React.JSX.Element {
  return (
    <>
      {tags.map((t) => (
        <span key={t} className={kind === 'group' ? 'tag group' : 'tag'}>
          {t}
        </span>
      ))}
    </>
  );
}
