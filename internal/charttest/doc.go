// Package charttest validates the Helm chart in deploy/helm/hookflow. It is
// its own module so that the hookflow binary never links Helm or the
// Kubernetes API types.
package charttest
