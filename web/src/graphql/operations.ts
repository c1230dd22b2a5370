// Every GraphQL document the UI sends. `npm run codegen` turns them into typed documents in
// src/gql/ from ../schema.graphql.
import { graphql } from '../gql';

export const TicketFieldsFragment = graphql(`
  fragment TicketFields on Ticket {
    id
    title
    price
    version
    status
    sellerId
    reservedUntil
    createdAt
    updatedAt
  }
`);

export const ChargeFieldsFragment = graphql(`
  fragment ChargeFields on Charge {
    id
    orderId
    amount
    currency
    providerId
    createdAt
  }
`);

export const OrderFieldsFragment = graphql(`
  fragment OrderFields on Order {
    id
    status
    expiresAt
    buyerId
    price
    createdAt
    updatedAt
    charge {
      ...ChargeFields
    }
    ticket {
      ...TicketFields
    }
  }
`);

export const MeQuery = graphql(`
  query Me {
    me {
      id
      email
      createdAt
    }
  }
`);

export const SignUpMutation = graphql(`
  mutation SignUp($email: String!, $password: String!) {
    signUp(email: $email, password: $password) {
      user {
        id
        email
      }
    }
  }
`);

export const SignInMutation = graphql(`
  mutation SignIn($email: String!, $password: String!) {
    signIn(email: $email, password: $password) {
      user {
        id
        email
      }
    }
  }
`);

export const SignOutMutation = graphql(`
  mutation SignOut {
    signOut
  }
`);

export const TicketsQuery = graphql(`
  query Tickets($first: Int!, $after: String, $status: TicketStatus) {
    tickets(first: $first, after: $after, status: $status) {
      edges {
        cursor
        node {
          ...TicketFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const SellerTicketsQuery = graphql(`
  query SellerTickets($first: Int!, $after: String, $sellerId: ID!) {
    tickets(first: $first, after: $after, sellerId: $sellerId) {
      edges {
        cursor
        node {
          ...TicketFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const TicketQuery = graphql(`
  query Ticket($id: ID!) {
    ticket(id: $id) {
      ...TicketFields
    }
  }
`);

export const CreateTicketMutation = graphql(`
  mutation CreateTicket($input: CreateTicketInput!) {
    createTicket(input: $input) {
      ...TicketFields
    }
  }
`);

export const UpdateTicketMutation = graphql(`
  mutation UpdateTicket($id: ID!, $input: UpdateTicketInput!) {
    updateTicket(id: $id, input: $input) {
      ...TicketFields
    }
  }
`);

export const CreateOrderMutation = graphql(`
  mutation CreateOrder($ticketId: ID!, $expectedVersion: Int) {
    createOrder(ticketId: $ticketId, expectedVersion: $expectedVersion) {
      ...OrderFields
    }
  }
`);

export const OrderQuery = graphql(`
  query Order($id: ID!) {
    order(id: $id) {
      ...OrderFields
    }
  }
`);

export const OrdersQuery = graphql(`
  query Orders($first: Int!, $after: String) {
    orders(first: $first, after: $after) {
      edges {
        cursor
        node {
          ...OrderFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const CancelOrderMutation = graphql(`
  mutation CancelOrder($id: ID!) {
    cancelOrder(id: $id) {
      ...OrderFields
    }
  }
`);

export const PayOrderMutation = graphql(`
  mutation PayOrder($orderId: ID!, $token: String!) {
    payOrder(orderId: $orderId, token: $token) {
      ...ChargeFields
    }
  }
`);

export const TicketCreatedSubscription = graphql(`
  subscription TicketCreated {
    ticketCreated {
      ...TicketFields
    }
  }
`);

export const TicketUpdatedSubscription = graphql(`
  subscription TicketUpdated($id: ID) {
    ticketUpdated(id: $id) {
      ...TicketFields
    }
  }
`);

export const OrderCreatedSubscription = graphql(`
  subscription OrderCreated {
    orderCreated {
      ...OrderFields
    }
  }
`);

export const OrderUpdatedSubscription = graphql(`
  subscription OrderUpdated($id: ID) {
    orderUpdated(id: $id) {
      ...OrderFields
    }
  }
`);

export const OrderExpiredSubscription = graphql(`
  subscription OrderExpired {
    orderExpired {
      ...OrderFields
    }
  }
`);

export const ChargeCreatedSubscription = graphql(`
  subscription ChargeCreated {
    chargeCreated {
      ...ChargeFields
    }
  }
`);

export const PaymentSettingsQuery = graphql(`
  query PaymentSettings {
    paymentSettings {
      processor
      publishableKey
    }
  }
`);
