package main

import (
	"context"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/workflows"
)

// checkSearchAttributes makes sure the namespace has every search attribute
// the entity loop upserts: without them each upsert fails the workflow
// task, so the worker refuses to start and says how to create them.
func checkSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	if namespace == "" {
		namespace = "default"
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list the search attributes of namespace %s: %w", namespace, err)
	}
	return missingSearchAttributes(namespace, resp.GetCustomAttributes())
}

func missingSearchAttributes(namespace string, have map[string]enumspb.IndexedValueType) error {
	var missing, commands []string
	for _, k := range workflows.SearchAttributes() {
		t, ok := have[k.GetName()]
		if ok && t == enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			continue
		}
		what := k.GetName()
		if ok {
			what += " (registered as " + t.String() + ", want Keyword)"
		}
		missing = append(missing, what)
		commands = append(commands, fmt.Sprintf("  temporal operator search-attribute create --namespace %s --name %s --type Keyword", namespace, k.GetName()))
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("namespace %s lacks the search attributes %s, which every Hookflow workflow upserts (docs/operations.md); create them with:\n%s",
		namespace, strings.Join(missing, ", "), strings.Join(commands, "\n"))
}

// searchAttributeTypes is what the embedded dev server registers.
func searchAttributeTypes() map[string]enumspb.IndexedValueType {
	m := map[string]enumspb.IndexedValueType{}
	for _, k := range workflows.SearchAttributes() {
		m[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return m
}
