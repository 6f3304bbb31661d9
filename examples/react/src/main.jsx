import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.jsx';

// StrictMode runs every effect twice in development: the verifier's effect must leave one engine.
createRoot(document.getElementById('root')).render(<StrictMode><App /></StrictMode>);
