import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { connectToLab } from './lib/api/connect.js';
import { applyTheme, storedTheme, systemTheme } from './lib/state/theme.svelte.js';

applyTheme(storedTheme() ?? systemTheme());

const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks #app');
const { client, files } = connectToLab();
mount(App, { target, props: { client, files } });
