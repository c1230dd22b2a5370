import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, render, screen } from '@testing-library/react';
import { Countdown } from './Countdown';
import { recordDateHeader, resetServerClock } from '../lib/serverClock';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-01-01T10:00:00.000Z'));
});
afterEach(() => {
  vi.useRealTimers();
  resetServerClock();
});

describe('Countdown', () => {
  it('counts down to the deadline and then says "Expiring…", not "expired"', () => {
    render(<Countdown expiresAt="2026-01-01T10:02:05Z" />);
    expect(screen.getByRole('timer')).toHaveTextContent('2:05 left to pay');
    act(() => vi.advanceTimersByTime(65_000));
    expect(screen.getByRole('timer')).toHaveTextContent('1:00 left to pay');
    act(() => vi.advanceTimersByTime(59_000));
    expect(screen.getByRole('timer')).toHaveTextContent('0:01 left to pay');
    act(() => vi.advanceTimersByTime(1_000));
    expect(screen.getByRole('timer')).toHaveTextContent('Expiring…');
    expect(screen.queryByText(/expired/i)).not.toBeInTheDocument();
  });

  it('follows the server’s clock, not the local one', () => {
    // The local clock is 3 minutes slow: the server's Date header says 10:03:00.
    recordDateHeader('Thu, 01 Jan 2026 10:03:00 GMT', Date.now() - 20, Date.now());
    render(<Countdown expiresAt="2026-01-01T10:05:00Z" />);
    const text = screen.getByRole('timer').textContent ?? '';
    expect(text).toMatch(/^(2:00|1:59) left to pay$/);
  });
});

describe('Countdown to another deadline', () => {
  it('says what it counts down to, and what happens at zero', () => {
    render(<Countdown expiresAt="2026-01-01T10:00:03Z" label="until the draw" due="Drawing the order…" />);
    expect(screen.getByRole('timer')).toHaveTextContent('0:03 until the draw');
    act(() => vi.advanceTimersByTime(3_000));
    expect(screen.getByRole('timer')).toHaveTextContent('Drawing the order…');
  });
});
