// Every component of the jobs subsystem, in no particular order (`needs` decides), for daemon.ts.
import type { ComponentDefinition } from '../core/component.ts';
import { historyComponent } from './history.ts';
import { jobQueueComponent } from './job-queue.ts';
import { cancelMacroComponent, pauseMacroComponent, resumeMacroComponent } from './macros.ts';
import { recoveryComponent } from './recovery.ts';
import { virtualSdcardComponent } from './runner.ts';

/** The jobs subsystem; it needs the file manager, registered beside it. */
export const JOB_COMPONENTS: readonly ComponentDefinition[] = [
  pauseMacroComponent,
  resumeMacroComponent,
  cancelMacroComponent,
  virtualSdcardComponent,
  historyComponent,
  jobQueueComponent,
  recoveryComponent,
] as ComponentDefinition[];
