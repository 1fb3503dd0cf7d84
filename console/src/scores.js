// Scores for the period, shared by the map, the ranking and the scorecard panels:
// commander and viewer read every card (scoring GET /v1/scorecards, in ranking order);
// a county its own card (GET /v1/scorecards/{county}) and, once the month is published, the
// ranking frozen in the publication (GET /v1/publications/{id}); a department that ranking only.

import * as api from './api.js';
import * as map from './map.js';
import * as ranking from './panels/ranking.js';
import * as scorecard from './panels/scorecard.js';

export async function load(ctx) {
  const period = { year: ctx.period.year, month: ctx.period.month };
  let cards = [];
  let rows = null;
  if (ctx.seesAll) {
    cards = (await api.get('/scoring/v1/scorecards', { ...period, limit: 100 })).items;
    rows = cards.map((c) => ({
      county: c.county, name: c.name, score: c.total, rank: c.rank, tier: c.tier,
    }));
  } else {
    const [card, publication] = await Promise.all([
      ctx.county ? api.get(`/scoring/v1/scorecards/${ctx.county}`, period) : null,
      ctx.publication ? api.get(`/scoring/v1/publications/${ctx.publication.id}`) : null,
    ]);
    cards = card ? [card] : [];
    rows = publication ? publication.ranking : null;
  }
  if (period.year !== ctx.period.year || period.month !== ctx.period.month) return; // stale
  ctx.scores = { cards, ranking: rows };
  map.render(ctx);
  ranking.render(ctx);
  scorecard.render(ctx);
}
