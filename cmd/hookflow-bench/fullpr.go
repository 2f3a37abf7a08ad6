package main

import (
	"strconv"
	"strings"
)

// The objects of a full GitHub pull_request delivery, built from the fields
// GitHub documents for its webhook payloads (users, repositories, the pull
// request, its links) with values of our own.

// ghUser is a GitHub "simple user" as webhook payloads carry it (every
// user in a payload: the author, assignees, reviewers, owners, sender).
func ghUser(login string, id int) map[string]any {
	api := "https://api.github.com/users/" + login
	return map[string]any{
		"login": login, "id": id, "node_id": nodeID("U", id),
		"avatar_url":  "https://avatars.githubusercontent.com/u/" + strconv.Itoa(id) + "?v=4",
		"gravatar_id": "", "url": api, "html_url": "https://github.com/" + login,
		"followers_url": api + "/followers", "following_url": api + "/following{/other_user}",
		"gists_url": api + "/gists{/gist_id}", "starred_url": api + "/starred{/owner}{/repo}",
		"subscriptions_url": api + "/subscriptions", "organizations_url": api + "/orgs",
		"repos_url": api + "/repos", "events_url": api + "/events{/privacy}",
		"received_events_url": api + "/received_events", "type": "User",
		"site_admin": false,
	}
}

// repoURLs are the hypermedia fields of a repository object: name, then
// the path after the repository's API URL.
var repoURLs = [][2]string{
	{"forks_url", "/forks"}, {"keys_url", "/keys{/key_id}"}, {"collaborators_url", "/collaborators{/collaborator}"},
	{"teams_url", "/teams"}, {"hooks_url", "/hooks"}, {"issue_events_url", "/issues/events{/number}"},
	{"events_url", "/events"}, {"assignees_url", "/assignees{/user}"}, {"branches_url", "/branches{/branch}"},
	{"tags_url", "/tags"}, {"blobs_url", "/git/blobs{/sha}"}, {"git_tags_url", "/git/tags{/sha}"},
	{"git_refs_url", "/git/refs{/sha}"}, {"trees_url", "/git/trees{/sha}"}, {"statuses_url", "/statuses/{sha}"},
	{"languages_url", "/languages"}, {"stargazers_url", "/stargazers"}, {"contributors_url", "/contributors"},
	{"subscribers_url", "/subscribers"}, {"subscription_url", "/subscription"}, {"commits_url", "/commits{/sha}"},
	{"git_commits_url", "/git/commits{/sha}"}, {"comments_url", "/comments{/number}"},
	{"issue_comment_url", "/issues/comments{/number}"}, {"contents_url", "/contents/{+path}"},
	{"compare_url", "/compare/{base}...{head}"}, {"merges_url", "/merges"}, {"archive_url", "/{archive_format}{/ref}"},
	{"downloads_url", "/downloads"}, {"issues_url", "/issues{/number}"}, {"pulls_url", "/pulls{/number}"},
	{"milestones_url", "/milestones{/number}"}, {"notifications_url", "/notifications{?since,all,participating}"},
	{"labels_url", "/labels{/name}"}, {"releases_url", "/releases{/id}"}, {"deployments_url", "/deployments"},
}

// ghRepo is a repository object as webhook payloads carry it (the
// pull request's head and base repositories and the event's repository).
func ghRepo(owner string, ownerID int, name string, id int) map[string]any {
	full := owner + "/" + name
	api := "https://api.github.com/repos/" + full
	r := map[string]any{
		"id": id, "node_id": nodeID("R", id), "name": name, "full_name": full, "private": false,
		"owner": ghUser(owner, ownerID), "html_url": "https://github.com/" + full, "description": nil,
		"fork": false, "url": api, "created_at": "2024-03-11T09:12:40Z", "updated_at": "2024-11-30T17:02:11Z",
		"pushed_at": "2024-12-02T08:41:57Z", "git_url": "git://github.com/" + full + ".git",
		"ssh_url": "git@github.com:" + full + ".git", "clone_url": "https://github.com/" + full + ".git",
		"svn_url": "https://github.com/" + full, "homepage": nil, "size": 2214, "stargazers_count": 14,
		"watchers_count": 14, "language": "Go", "has_issues": true, "has_projects": true,
		"has_downloads": true, "has_wiki": false, "has_pages": false,
		"forks_count": 3, "mirror_url": nil, "archived": false, "disabled": false, "open_issues_count": 7,
		"license": nil, "is_template": false, "forks": 3, "open_issues": 7, "watchers": 14, "default_branch": "main",
	}
	for _, u := range repoURLs {
		r[u[0]] = api + u[1]
	}
	return r
}

// nodeID is a GraphQL node ID of the given kind, made up from id.
func nodeID(kind string, id int) string {
	return strings.ToUpper(kind) + "_kgDO" + strconv.FormatInt(int64(id)*7919, 36)
}

// fullPR is a pull_request "synchronize" delivery with every object
// GitHub's webhook carries in full.
func fullPR(owner, name string, number int) map[string]any {
	const ownerID, repoID, authorID, reviewerID = 48120731, 774102566, 9140325, 30218844
	full := owner + "/" + name
	api := "https://api.github.com/repos/" + full
	n := strconv.Itoa(number)
	head, base := "3f7c1a9e0b4d2c8f6a5e7d9b1c3a5f7e9d2b4c6a", "9b2d4f6a8c0e1b3d5f7a9c1e3b5d7f9a2c4e6b8d"
	author, reviewer := ghUser("mlindqvist", authorID), ghUser("tokafor", reviewerID)
	ref := func(label, ref, sha string) map[string]any {
		return map[string]any{"label": owner + ":" + label, "ref": ref, "sha": sha,
			"user": ghUser(owner, ownerID), "repo": ghRepo(owner, ownerID, name, repoID)}
	}
	href := func(u string) map[string]any { return map[string]any{"href": u} }
	pr := map[string]any{
		"url": api + "/pulls/" + n, "id": 2143350917, "node_id": nodeID("PR", number),
		"html_url": "https://github.com/" + full + "/pull/" + n, "diff_url": "https://github.com/" + full + "/pull/" + n + ".diff",
		"patch_url": "https://github.com/" + full + "/pull/" + n + ".patch", "issue_url": api + "/issues/" + n,
		"number": number, "state": "open", "locked": false, "title": "journal: fsync the group before the answer",
		"user": author, "body": "", "created_at": "2024-12-01T10:02:33Z", "updated_at": "2024-12-02T08:41:58Z",
		"closed_at": nil, "merged_at": nil, "merge_commit_sha": "c1e3b5d7f9a2c4e6b8d0f2a4c6e8b0d2f4a6c8e0",
		"assignee": nil, "assignees": []any{author}, "requested_reviewers": []any{reviewer},
		"requested_teams": []any{}, "labels": []any{map[string]any{"id": 7712093311, "node_id": "LA_kwDOLiYB5s8AAAABy7fDfw",
			"url": api + "/labels/enhancement", "name": "enhancement", "color": "a2eeef", "default": true,
			"description": "New feature or request"}},
		"milestone": nil, "draft": false, "commits_url": api + "/pulls/" + n + "/commits",
		"review_comments_url": api + "/pulls/" + n + "/comments", "review_comment_url": api + "/pulls/comments{/number}",
		"comments_url": api + "/issues/" + n + "/comments", "statuses_url": api + "/statuses/" + head,
		"head": ref("journal-fsync", "journal-fsync", head), "base": ref("main", "main", base),
		"_links": map[string]any{"self": href(api + "/pulls/" + n), "html": href("https://github.com/" + full + "/pull/" + n),
			"issue": href(api + "/issues/" + n), "comments": href(api + "/issues/" + n + "/comments"),
			"review_comments": href(api + "/pulls/" + n + "/comments"), "review_comment": href(api + "/pulls/comments{/number}"),
			"commits": href(api + "/pulls/" + n + "/commits"), "statuses": href(api + "/statuses/" + head)},
		"author_association": "MEMBER", "auto_merge": nil, "active_lock_reason": nil, "merged": false,
		"mergeable": nil, "rebaseable": nil, "mergeable_state": "unknown", "merged_by": nil, "comments": 2,
		"review_comments": 5, "maintainer_can_modify": false, "commits": 4, "additions": 212, "deletions": 37,
		"changed_files": 6,
	}
	return map[string]any{
		"action": "synchronize", "number": number, "pull_request": pr, "before": base, "after": head,
		"repository":   ghRepo(owner, ownerID, name, repoID),
		"installation": map[string]any{"id": 2311213, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMjMxMTIxMw=="},
		"sender":       author,
	}
}
