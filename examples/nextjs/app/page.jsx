// A server component: rendered on the server, it only places the client component, which imports
// webverify. The package does nothing when imported (on the server too); the verifier is made in
// the browser, in the client component's effect.
import { Verify } from './Verify.jsx';

export default function Page() {
  return (
    <main>
      <h1>Same person?</h1>
      <Verify />
    </main>
  );
}
