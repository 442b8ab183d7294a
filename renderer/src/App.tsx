export function App(): React.JSX.Element {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', padding: 24 }}>
      <h1>Pilot Fleet</h1>
      <p>The fleet console is being built (see the README for what exists today).</p>
    </main>
  );
}
