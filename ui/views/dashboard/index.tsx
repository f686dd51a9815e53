// The dashboard: temperatures, toolhead control, macros, webcams and a small console.
import { ConsolePanel } from '../../widgets/console.tsx';
import { ControlPanel, MacroPanel } from '../../widgets/control-panel.tsx';
import { TemperaturePanel } from '../../widgets/temperature-panel.tsx';
import { WebcamPanel } from '../../widgets/webcam-panel.tsx';

export default function DashboardView() {
  return (
    <div class="grid two">
      <div class="column">
        <TemperaturePanel />
        <WebcamPanel />
      </div>
      <div class="column">
        <ControlPanel />
        <MacroPanel />
        <ConsolePanel compact />
      </div>
    </div>
  );
}
