package demo

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/wangge/wangge/data"
)

// The roles of the demo roster, from the built-in taxonomy
// (data/taxonomy.json). A deployment's own taxonomy may lack them; the
// caller checks the roster against the taxonomy it serves with.
const (
	RoleWorker = "full_time"  // 专职网格员: one per grid
	RoleChief  = "grid_chief" // 网格长: one per leaf area
)

// NamePrefix marks every demo name as an example (示例): the roster is
// invented, no person is meant, and the mark keeps a screenshot of the
// demo from being read as a real roster.
const NamePrefix = "示例·"

// The syllables the invented names are made of: common surnames and given
// names, combined by position, not drawn from any list of people.
// len(surnames)+1 and len(givenNames) are coprime, so the first
// len(surnames)*len(givenNames) names are all different.
var (
	surnames   = [...]string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高"}
	givenNames = [...]string{"芳", "伟", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
		"超", "秀英", "霞", "平", "刚", "桂英", "建华", "文", "华", "玉兰", "红", "志强", "丹", "萍", "鹏", "晓东"}
)

// fictionalName returns the i-th invented name, "示例·王芳" for 0.
func fictionalName(i int) string {
	n := len(surnames)
	return NamePrefix + surnames[i%n] + givenNames[(i/n*(n+1)+i%n)%len(givenNames)]
}

// fictionalPhone returns the i-th invented phone number, "+86 100 0000
// 0001" for 0. After +86, mobile numbers start with 13 to 19 and 10 is
// Beijing, whose local numbers never start with 0: none of these reaches
// anyone.
func fictionalPhone(i int) string {
	n := i + 1
	return fmt.Sprintf("+86 100 %04d %04d", n/10000, n%10000)
}

// Roster returns the demo's invented roster for a published plan: one grid
// chief (网格长) for each leaf area, serving the area's code (which stands
// for every grid in it), and one full-time grid worker for each grid,
// serving the grid's code. Names are fictional and marked (NamePrefix),
// phone numbers fictional. The same areas and grids give the same roster,
// in any order: workers are numbered by code.
func Roster(areas []data.Area, grids []data.Grid) []data.Worker {
	parents := make(map[string]bool)
	for _, a := range areas {
		if a.ParentCode != "" {
			parents[a.ParentCode] = true
		}
	}
	var leaves []string
	for _, a := range areas {
		if !parents[a.Code] {
			leaves = append(leaves, a.Code)
		}
	}
	slices.Sort(leaves)
	leaves = slices.Compact(leaves)
	gs := slices.SortedFunc(slices.Values(grids), func(a, b data.Grid) int { return cmp.Compare(a.Code, b.Code) })

	out := make([]data.Worker, 0, len(leaves)+len(gs))
	for i, code := range leaves {
		out = append(out, data.Worker{ID: fmt.Sprintf("demo-chief-%03d", i+1), Name: fictionalName(len(out)),
			Role: RoleChief, Phone: fictionalPhone(len(out)), GridCodes: []string{code}})
	}
	for i, g := range gs {
		out = append(out, data.Worker{ID: fmt.Sprintf("demo-worker-%03d", i+1), Name: fictionalName(len(out)),
			Role: RoleWorker, Phone: fictionalPhone(len(out)), GridCodes: []string{g.Code}})
	}
	return out
}
