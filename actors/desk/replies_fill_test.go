package desk

import "testing"

func TestFillReply(t *testing.T) {
	values := map[string]string{"customer_name": "Sam", "agent_name": "", "customer.plan": "premium"}
	for _, c := range []struct{ in, want string }{
		{"Hi {customer_name}, I'm {agent_name|your agent}.", "Hi Sam, I'm your agent."},
		{"Your {customer.plan} plan; order {customer.order|unknown}", "Your premium plan; order unknown"},
		{"Your order {customer.order}.", "Your order ."},
		{"JSON {\"a\": 1} and {unknown} stay", "JSON {\"a\": 1} and {unknown} stay"},
		{"a { {customer_name} b } c", "a { Sam b } c"},
		{"} {customer_name", "} {customer_name"},
		{"{customer.}", "{customer.}"},
		{"", ""},
	} {
		if got := fillReply(c.in, values); got != c.want {
			t.Errorf("fillReply(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
