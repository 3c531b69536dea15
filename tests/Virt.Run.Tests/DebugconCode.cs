using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests;

/// <summary>Guest routines shared by the test ROMs and kernels, for 16- and 32-bit code alike.</summary>
internal static class DebugconCode
{
    /// <summary>
    /// Emits, at <paramref name="printHex"/>, a routine that writes EAX as eight hex digits followed by
    /// <paramref name="terminator"/> to the debug console (port E9h). Clobbers EAX, ECX (CX in 16-bit code) and EDX.
    /// </summary>
    public static void EmitPrintHex(Assembler a, Label printHex, char terminator)
    {
        Label hexLoop = a.CreateLabel();
        Label hexDigit = a.CreateLabel();
        a.Label(ref printHex);
        a.mov(edx, eax);
        if (a.Bitness == 16)
        {
            a.mov(cx, 8);
        }
        else
        {
            a.mov(ecx, 8);
        }

        a.Label(ref hexLoop);
        a.rol(edx, 4);
        a.mov(al, dl);
        a.and(al, 0xF);
        a.add(al, (byte)'0');
        a.cmp(al, (byte)'9');
        a.jbe(hexDigit);
        a.add(al, 7);
        a.Label(ref hexDigit);
        a.@out(0xE9, al);
        if (a.Bitness == 16)
        {
            a.dec(cx);
        }
        else
        {
            a.dec(ecx);
        }

        a.jnz(hexLoop);
        a.mov(al, (byte)terminator);
        a.@out(0xE9, al);
        a.ret();
    }
}
