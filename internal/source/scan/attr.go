package scan

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// fromSDK converts an SDK item to attribute values, numbers kept exact.
func fromSDK(item map[string]types.AttributeValue) (ddbjson.Map, error) {
	m := make(ddbjson.Map, len(item))
	for k, av := range item {
		v, err := valueFromSDK(av)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		m[k] = v
	}
	return m, nil
}

func valueFromSDK(av types.AttributeValue) (ddbjson.Value, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return ddbjson.S(v.Value), nil
	case *types.AttributeValueMemberN:
		return ddbjson.N(v.Value), nil
	case *types.AttributeValueMemberB:
		return ddbjson.B(v.Value), nil
	case *types.AttributeValueMemberBOOL:
		return ddbjson.Bool(v.Value), nil
	case *types.AttributeValueMemberNULL:
		return ddbjson.Null(), nil
	case *types.AttributeValueMemberM:
		m, err := fromSDK(v.Value)
		return ddbjson.M(m), err
	case *types.AttributeValueMemberL:
		l := make([]ddbjson.Value, len(v.Value))
		for i, e := range v.Value {
			var err error
			if l[i], err = valueFromSDK(e); err != nil {
				return ddbjson.Value{}, err
			}
		}
		return ddbjson.L(l...), nil
	case *types.AttributeValueMemberSS:
		return ddbjson.SS(v.Value...), nil
	case *types.AttributeValueMemberNS:
		return ddbjson.NS(v.Value...), nil
	case *types.AttributeValueMemberBS:
		return ddbjson.BS(v.Value...), nil
	}
	return ddbjson.Value{}, fmt.Errorf("unknown attribute value type %T", av)
}

// toSDK converts attribute values back (for ExclusiveStartKey).
func toSDK(m ddbjson.Map) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = valueToSDK(v)
	}
	return out
}

func valueToSDK(v ddbjson.Value) types.AttributeValue {
	switch v.Kind {
	case ddbjson.KindS:
		return &types.AttributeValueMemberS{Value: v.Str}
	case ddbjson.KindN:
		return &types.AttributeValueMemberN{Value: v.Str}
	case ddbjson.KindB:
		return &types.AttributeValueMemberB{Value: v.Bin}
	case ddbjson.KindBOOL:
		return &types.AttributeValueMemberBOOL{Value: v.Bool}
	case ddbjson.KindM:
		return &types.AttributeValueMemberM{Value: toSDK(v.Map)}
	case ddbjson.KindL:
		l := make([]types.AttributeValue, len(v.List))
		for i, e := range v.List {
			l[i] = valueToSDK(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case ddbjson.KindSS:
		return &types.AttributeValueMemberSS{Value: v.Strs}
	case ddbjson.KindNS:
		return &types.AttributeValueMemberNS{Value: v.Strs}
	case ddbjson.KindBS:
		return &types.AttributeValueMemberBS{Value: v.Bins}
	}
	return &types.AttributeValueMemberNULL{Value: true}
}
