// Entry point: theme and router first, then the session, then the first render.
import { render } from 'preact';
import './styles.css';
import { startSession } from './api/session.ts';
import { App } from './app.tsx';
import { startRouter } from './router.ts';
import './state/console.ts';
import './state/settings.ts';
import './state/temperatures.ts';

startRouter();
startSession();
render(<App />, document.getElementById('app')!);
