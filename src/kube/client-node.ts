// @kubernetes/client-node (about 55 MB resident on top of the rest) is loaded only when the
// controller reads its specs from Kubernetes: the kube modules take their classes from
// here at the point of use and import only types from the package.
import type * as ClientNode from '@kubernetes/client-node';
import { lazyPackage } from '../lazy-module.ts';

export const clientNode = lazyPackage<typeof ClientNode>('--spec-source kubernetes (the Kubernetes client)', '@kubernetes/client-node');
