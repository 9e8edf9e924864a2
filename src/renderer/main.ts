import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { getBridge } from './bridge/install';
import { createAppRouter } from './router';
import { useThemeStore } from './stores/theme';
import './styles/theme.css';
import './styles/base.css';

// First the bridge: it takes the `?token=` out of the address bar before the router reads it.
getBridge();

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
// The theme before the first paint of the app, so it never flashes the other one.
useThemeStore(pinia);
app.use(createAppRouter());
app.mount('#app');
