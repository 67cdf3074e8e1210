package api

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
)

// OGC API Features Part 3 (Filtering): each collection's queryables, the
// properties its items can be selected on, as a JSON Schema
// (/req/queryables/get-queryables-op, get-queryables-response). They are
// the layer's data.Filterable properties, its temporal property
// (data.TimeProperty) and its geometry; each simple one is also a query
// parameter of the items (/req/queryables-query-parameters/parameters).

const (
	// queryablesRel is the link relation of a Queryables resource
	// (/req/queryables/queryables-link).
	queryablesRel = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
	schemaJSON    = "application/schema+json"
)

// queryablesLink is the link from a collection or its items to the
// collection's queryables.
func queryablesLink(base string, layer data.Layer) link {
	return link{Href: base + "/collections/" + string(layer) + "/queryables", Rel: queryablesRel, Type: schemaJSON,
		Title: "the properties " + string(layer) + " can be filtered on"}
}

// queryable returns the JSON Schema of a layer's queryable property, and
// false for a name that is none. Enumerations list the values the data
// takes, categories those of the taxonomy in use, tax; a filter on another
// value matches nothing (checkFilter).
func queryable(tax *data.Taxonomy, layer data.Layer, name string) (map[string]any, bool) {
	if p := data.TimeProperty(layer); p != "" && name == p {
		// x-ogc-role (OGC API Features Part 5) names the property that
		// datetime and the collection's temporal extent use.
		title := strings.ToUpper(p[:1]) + strings.ReplaceAll(p[1:], "_", " ") // reported_at: Reported at
		return map[string]any{"title": title, "type": "string", "format": "date-time", "x-ogc-role": "primary-instant"}, true
	}
	switch name {
	case "category":
		return map[string]any{"title": "Category", "description": "the event's category in the taxonomy in use", "type": "string", "enum": tax.CategoryCodes()}, true
	case "status":
		if layer == data.LayerCameras {
			return map[string]any{"title": "Status", "type": "string", "enum": data.CameraStatuses()}, true
		}
		return map[string]any{"title": "Status", "description": "the event's state; resolved, verified and closed are done (办结)",
			"type": "string", "enum": data.StatusNames()}, true
	case "severity":
		return map[string]any{"title": "Severity", "description": "1 low … 3 high", "type": "integer", "enum": []int{1, 2, 3}}, true
	case "level":
		return map[string]any{"title": "Level", "description": "nesting level of the area, 1 = top (streets, townships)", "type": "integer", "minimum": 1}, true
	case "parent_code":
		return map[string]any{"title": "Parent area", "description": "code of the area this one nests in", "type": "string"}, true
	case "assignee":
		return map[string]any{"title": "Assignee", "description": "id of the grid worker handling the event; empty when none", "type": "string"}, true
	case "resp_code":
		return map[string]any{"title": "Responsible unit", "description": "code of the grid or area responsible for the event; empty for the county", "type": "string"}, true
	case "resp_level":
		return map[string]any{"title": "Responsible level", "description": "level of the responsible unit: 0 the county, then area levels, grids one below their area",
			"type": "integer", "minimum": 0}, true
	}
	return nil, false
}

// taxonomyInUse is the taxonomy in use. The route table is also built on a nil
// Server, for the role policy (auth.go), where only the routes' roles
// matter: the built-in taxonomy stands in there.
func (s *Server) taxonomyInUse() *data.Taxonomy {
	if s == nil || s.live == nil {
		return data.DefaultTaxonomy()
	}
	return s.live.Taxonomy()
}

// geometryFormat is the queryables format of a layer's geometry
// (/req/queryables/get-queryables-response E).
func geometryFormat(layer data.Layer) string {
	switch layer {
	case data.LayerAreas, data.LayerGrids:
		return "geometry-polygon-or-multipolygon"
	}
	return "geometry-point"
}

// queryables answers GET /collections/{collectionId}/queryables.
func (s *Server) queryables(w http.ResponseWriter, r *http.Request) error {
	layer, err := servedLayer(r, mux.Vars(r)["collectionId"])
	if err != nil {
		return err
	}
	props := map[string]any{
		// Not a query parameter (bbox is): spatial properties are not
		// simple values.
		"geometry": map[string]any{"title": "Geometry", "format": geometryFormat(layer), "x-ogc-role": "primary-geometry"},
	}
	names := data.Filterable(layer)
	if p := data.TimeProperty(layer); p != "" {
		names = append(names[:len(names):len(names)], p)
	}
	for _, name := range names {
		schema, ok := queryable(s.taxonomyInUse(), layer, name)
		if !ok {
			return data.Errorf(data.EINTERNAL, "no queryable schema for %s.%s", layer, name)
		}
		props[name] = schema
	}
	title := string(layer)
	for _, c := range collectionInfo {
		if c.layer == layer {
			title = c.title
		}
	}
	return writeJSON(w, http.StatusOK, schemaJSON, map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id":     s.baseURL(r) + "/collections/" + string(layer) + "/queryables",
		"type":    "object",
		"title":   title,
		"description": "The properties " + string(layer) + " can be selected on. Each one but the geometry is also a query parameter " +
			"of its items (the geometry's is bbox); a value outside an enum matches nothing.",
		"properties":           props,
		"additionalProperties": false,
	})
}
