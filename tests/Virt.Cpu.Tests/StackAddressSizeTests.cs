using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>
/// Stack operations on a 16-bit stack segment (SS.B = 0) address the stack with SP and move SP only, whatever the operand
/// size: ESP[31:16] stays as it was (Intel SDM Vol. 1, 6.2.3 "Address-size attribute for stack accesses"; Vol. 2 pseudo-code
/// of each instruction, "IF StackAddrSize = 32 ... ELSE SP <- ..."). Every stack operation runs in real mode with
/// ESP = ABCD8000h and records ESP after itself.
/// </summary>
public sealed class StackAddressSizeTests
{
    private const uint Upper = 0xABCD_0000;
    private const uint Top = 0x8000;
    private const uint Record = 0x3000;
    private const uint HandlerRecord = 0x3100;
    private const ushort Handler = 0x2000;
    private const int SoftwareVector = 0x60;

    [Fact]
    public void Every_stack_operation_with_either_operand_size_moves_sp_only()
    {
        var m = new CpuHarness();

        // INT 60h goes to a handler that records ESP and returns with a 16-bit IRET.
        m.Memory.WriteWord(new PhysicalAddress(SoftwareVector * 4), Handler);
        m.Memory.WriteWord(new PhysicalAddress((SoftwareVector * 4) + 2), 0);
        m.Memory.Write(new PhysicalAddress(Handler), [0x66, 0x89, 0x26, 0x00, 0x31, 0xCF]); // mov [3100h], esp; iret

        // (encoding, SP after it relative to 8000h); each step is followed by "mov [Record + 4i], esp".
        var steps = new List<(Func<ushort[], byte[]> Code, int Delta)>
        {
            (_ => [0x66, 0x50], -4), // o32 PUSH EAX
            (_ => [0x66, 0x5B], 0), // o32 POP EBX
            (_ => [0x50], -2), // PUSH AX
            (_ => [0x5B], 0), // POP BX
            (_ => [0x66, 0x60], -32), // PUSHAD
            (_ => [0x66, 0x61], 0), // POPAD
            (_ => [0x60], -16), // PUSHA
            (_ => [0x61], 0), // POPA
            (_ => [0x66, 0x9C], -4), // PUSHFD
            (_ => [0x66, 0x9D], 0), // POPFD
            (_ => [0x9C], -2), // PUSHF
            (_ => [0x9D], 0), // POPF
            (_ => [0x66, 0x1E], -4), // o32 PUSH DS
            (_ => [0x66, 0x1F], 0), // o32 POP DS
            (_ => [0x66, 0x16], -4), // o32 PUSH SS
            (_ => [0x66, 0x17], 0), // o32 POP SS
            (_ => [0x16], -2), // PUSH SS
            (_ => [0x17], 0), // POP SS
            (_ => [0x66, 0x0F, 0xA0], -4), // o32 PUSH FS
            (_ => [0x66, 0x0F, 0xA1], 0), // o32 POP FS
            (_ => [0x66, 0x6A, 0x12], -4), // o32 PUSH imm8
            (_ => [0x66, 0x8F, 0x06, 0x00, 0x32], 0), // o32 POP [3200h]
            (_ => [0x66, 0xFF, 0x36, 0x00, 0x32], -4), // o32 PUSH [3200h]
            (_ => [0x66, 0x58], 0), // o32 POP EAX
            (_ => [0x66, 0xC8, 0x08, 0x00, 0x00], -12), // o32 ENTER 8, 0
            (_ => [0x66, 0xC9], 0), // o32 LEAVE
            (_ => [0x66, 0xC8, 0x04, 0x00, 0x02], -16), // o32 ENTER 4, 2: EBP, one copied frame pointer, FrameTemp
            (_ => [0x66, 0xC9], 0), // o32 LEAVE
            (_ => [0xC8, 0x04, 0x00, 0x01], -8), // ENTER 4, 1
            (_ => [0xC9], 0), // LEAVE
            (_ => [0x66, 0xE8, 0, 0, 0, 0], -4), // o32 CALL rel32 (to the next instruction)
            (_ => [0x66, 0x58], 0), // o32 POP EAX
            (at => [0x66, 0x68, .. Le32(at[0]), 0x66, 0xC3], 0), // o32 PUSH target; o32 RET (label 0 follows)
            (at => [0x66, 0x68, .. Le32(at[1]), 0x66, 0xC2, 0x04, 0x00], 4), // o32 PUSH target; o32 RET 4 (label 1)
            (_ => [0x66, 0x83, 0xEC, 0x04], 0), // SUB ESP, 4 (back to 8000h: plain arithmetic on ESP)
            (at => [0x66, 0x6A, 0x00, 0x66, 0x68, .. Le32(at[2]), 0x66, 0xCB], 0), // o32 PUSH 0; o32 PUSH target; o32 RETF (label 2)
            (at => [0x66, 0x9A, .. Le32(at[3]), 0x00, 0x00], -8), // o32 CALL FAR 0:target (label 3)
            (_ => [0x66, 0xCB], 0), // o32 RETF (run at the far call's target) back to the instruction after the call
            (_ => [0xCD, SoftwareVector], 0), // INT 60h (the handler records ESP; IRET)
            (at => [0x66, 0x9C, 0x66, 0x6A, 0x00, 0x66, 0x68, .. Le32(at[4]), 0x66, 0xCF], 0), // PUSHFD; o32 PUSH 0; o32 PUSH target; IRETD (label 4)
        };

        m.RunWithLabels(
            (a, at) =>
            {
                var labels = new List<Label>();
                a.mov(esp, unchecked((int)(Upper | Top)));
                a.mov(ebp, unchecked((int)(Upper | 0x5678)));
                for (int i = 0; i < steps.Count; i++)
                {
                    byte[] code = steps[i].Code(at);
                    if (code[0] == 0x66 && code[1] == 0x9A)
                    {
                        // The far call lands on a far return that comes straight back to the recording step.
                        Label after = a.CreateLabel();
                        Label target = a.CreateLabel();
                        a.db(code);
                        a.jmp(after);
                        a.Label(ref target);
                        a.mov(__dword_ptr[Record + (4 * i)], esp);
                        labels.Add(target);
                        a.db(steps[i + 1].Code(at));
                        a.Label(ref after);
                        a.mov(__dword_ptr[Record + (4 * (i + 1))], esp);
                        i++;
                        continue;
                    }

                    a.db(code);
                    if (code[^1] is 0xC3 or 0xCB or 0xCF || (code.Length > 3 && code[^3] == 0xC2))
                    {
                        Label target = a.CreateLabel();
                        a.Label(ref target);
                        labels.Add(target);
                    }

                    a.mov(__dword_ptr[Record + (4 * i)], esp);
                    if (code is [0x66, 0xC8, 0x08, ..])
                    {
                        a.mov(__dword_ptr[Record + 0x200], ebp);
                    }
                }

                a.hlt();
                return [.. labels];
            },
            labelCount: 5);

        for (int i = 0; i < steps.Count; i++)
        {
            uint expected = Upper | (uint)(Top + steps[i].Delta);
            uint actual = m.Memory.ReadDoubleWord(new PhysicalAddress(Record + (uint)(4 * i)));
            Assert.True(expected == actual, $"step {i}: ESP {actual:X8}, expected {expected:X8}");
        }

        // o32 ENTER 8, 0: EBP <- FrameTemp, the whole ESP after pushing EBP (ESP[31:16] kept); the old EBP was pushed.
        Assert.Equal(Upper | (Top - 4), m.Memory.ReadDoubleWord(new PhysicalAddress(Record + 0x200)));

        // The handler ran with IP, CS and FLAGS pushed (6 bytes) by SP alone.
        Assert.Equal(Upper | (Top - 6), m.Memory.ReadDoubleWord(new PhysicalAddress(HandlerRecord)));
        Assert.Equal(Upper | Top, (uint)m.Cpu.GetRegister(GeneralRegister.Rsp));
    }

    private static byte[] Le32(ushort value) => [(byte)value, (byte)(value >> 8), 0, 0];
}
