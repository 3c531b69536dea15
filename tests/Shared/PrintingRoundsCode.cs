using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Tests.Shared;

/// <summary>
/// 16-bit guest code shared by the snapshot tests of Virt.Machine.Tests and Virt.Run.Tests (linked into both): rounds
/// that change RAM all the time and print to COM1, so a snapshot taken mid-way has RAM, CPU and UART state to carry.
/// </summary>
internal static class PrintingRoundsCode
{
    /// <summary>
    /// Emits the rounds: each mixes a running value into <paramref name="bytesPerRound"/> bytes at 1000:0000 (DS), then
    /// prints 'a' + round % 26 to COM1, polling the line status register (so the UART's timers run). After
    /// <paramref name="rounds"/> rounds the code falls through to whatever the caller emits next.
    /// </summary>
    /// <param name="a">The 16-bit assembler.</param>
    /// <param name="rounds">How many rounds (letters).</param>
    /// <param name="bytesPerRound">How many bytes of RAM each round rewrites (even).</param>
    public static void Emit(Assembler a, int rounds, int bytesPerRound)
    {
        Label outer = a.CreateLabel();
        Label inner = a.CreateLabel();
        Label wait = a.CreateLabel();
        a.cli();
        a.mov(ax, 0x1000);
        a.mov(ds, ax);
        a.xor(cx, cx);
        a.mov(bx, 0x1234);
        a.Label(ref outer);
        a.xor(di, di);
        a.Label(ref inner);
        a.mov(ax, bx);
        a.shl(ax, 2);
        a.add(bx, ax);                  // bx *= 5
        a.add(bx, di);
        a.xor(__word_ptr[di], bx);
        a.add(di, 2);
        a.cmp(di, (short)bytesPerRound);
        a.jb(inner);
        a.mov(ax, cx);
        a.xor(dx, dx);
        a.mov(si, 26);
        a.div(si);                      // dx = round % 26
        a.mov(ah, dl);
        a.add(ah, (byte)'a');
        a.mov(dx, 0x3FD);               // COM1 line status register
        a.Label(ref wait);
        a.@in(al, dx);
        a.test(al, 0x20);               // transmitter holding register empty?
        a.jz(wait);
        a.mov(al, ah);
        a.mov(dx, 0x3F8);               // COM1 data register
        a.@out(dx, al);
        a.inc(cx);
        a.cmp(cx, (short)rounds);
        a.jb(outer);
    }
}
