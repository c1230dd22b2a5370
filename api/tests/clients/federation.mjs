// Federation with a real gateway: Apollo's gateway composes this server's subgraph with a small
// second one ("reviews") and runs the two kinds of query a supergraph makes of us:
//   - a field of the other subgraph on our Ticket (the gateway asks them for it by our key), and
//   - Ticket references the other subgraph returns, which the gateway resolves from us
//     (`_entities`).
// Prints one JSON line with both answers. Usage: node federation.mjs <our /graphql url> <ticket id>
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import gql from 'graphql-tag';

const [url, ticketId] = process.argv.slice(2);
if (!url || !ticketId) throw new Error('usage: node federation.mjs <url of /graphql> <ticket id>');

const reviews = new ApolloServer({
  schema: buildSubgraphSchema({
    typeDefs: gql`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
      type Ticket @key(fields: "id") {
        id: ID!
        reviews: [String!]!
      }
      type Review {
        id: ID!
        ticket: Ticket!
      }
      type Query {
        featured: [Review!]!
      }
    `,
    resolvers: {
      Ticket: { __resolveReference: ({ id }) => ({ id, reviews: [`worth it (${id})`] }) },
      Query: { featured: () => [{ id: 'r1', ticket: { __typename: 'Ticket', id: ticketId } }] },
    },
  }),
});
const { url: reviewsUrl } = await startStandaloneServer(reviews, { listen: { port: 0, host: '127.0.0.1' } });

const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({
    subgraphs: [
      { name: 'tickets', url },
      { name: 'reviews', url: reviewsUrl },
    ],
  }),
});
const server = new ApolloServer({ gateway });
const { url: gatewayUrl } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });

async function ask(query) {
  const response = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return response.json();
}

const theirFieldOnOurTicket = await ask(
  `{ ticket(id: "${ticketId}") { id title reviews } }`,
);
const ourTicketFromTheirReference = await ask('{ featured { id ticket { id title price status } } }');
console.log(JSON.stringify({ theirFieldOnOurTicket, ourTicketFromTheirReference }));
await server.stop();
await reviews.stop();
