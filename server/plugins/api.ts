// The public plugin API: what a plugin may import. Plugins get the same Host as built-in components.
export type { ComponentDefinition as PluginDefinition, ComponentInstance, Host } from '../core/component.ts';
export { defineComponent as definePlugin } from '../core/component.ts';
export { ApiError, errors } from '../core/errors.ts';
export type { EventMap } from '../core/events.ts';

import { Type } from '@sinclair/typebox';
import { defineComponent } from '../core/component.ts';
import { ApiError, errors } from '../core/errors.ts';

/** Handed to a plugin whose default export is a function, for plugins that live outside the repository. */
export const pluginSdk = { Type, definePlugin: defineComponent, ApiError, errors };
export type PluginSdk = typeof pluginSdk;
