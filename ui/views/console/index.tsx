// The console page: the whole console, full height.
import { ConsolePanel } from '../../widgets/console.tsx';

export default function ConsoleView() {
  return <ConsolePanel />;
}
