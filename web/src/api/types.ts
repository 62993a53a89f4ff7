// The API's shapes, from the generated OpenAPI types (npm run gen:api): pages use these names only.
import type { components } from './schema'

type S = components['schemas']
export type Case = S['CaseOut']
export type CaseDetail = S['CaseDetailOut']
export type RoutingCase = S['RoutingCaseOut']
export type Building = S['BuildingOut']
export type Grid = S['GridOut']
export type Community = S['CommunityOut']
export type Stats = S['StatsOut']
export type RosterMember = S['MemberOut']
export type Bureau = S['BureauListed']
export type Feedback = S['FeedbackOut']
export type Vocabulary = S['VocabularyOut']
/** The request body of an endpoint, with the fields the API fills in by default left optional. */
export type Body<T> = Partial<T>
export interface Page<T> {
  items: T[]
  next_cursor: string | null
}
export type PartyMember = S['PartyMemberOut']
export type Award = S['AwardOut']
export type Reward = S['RewardOut']
export type Redemption = S['RedemptionOut']
export type PointEntry = S['EntryOut']
export type Supervision = S['SupervisionOut']
export type HotIssue = S['HotIssueOut']
export type Meeting = S['MeetingOut']
export type Project = S['ProjectOut']
export type Visit = S['VisitOut']
export type Coverage = S['CoverageOut']
export type Poll = S['PollOut']
export type Calendar = S['CalendarOut']
export type AccountRow = S['AccountOut']
